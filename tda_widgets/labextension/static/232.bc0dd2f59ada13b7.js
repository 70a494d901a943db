"use strict";(self.rspackChunktda_widgets=self.rspackChunktda_widgets||[]).push([[232],{475(e,t,a){var r=a(601),o=a.n(r),n=a(314),i=(a.n(n))()(o());i.push([e.id,`.tda-panel {
  padding: 8px;
  overflow: hidden auto;
  box-sizing: border-box;
  min-width: 240px;
  font-size: var(--jp-ui-font-size1);
  color: var(--jp-ui-font-color1);
  background: var(--jp-layout-color1);
}

.tda-panel-header {
  display: flex;
  align-items: center;
  justify-content: space-between;
}

.tda-panel h2 {
  margin: 0;
  font-size: var(--jp-ui-font-size3);
}

.tda-panel h3 {
  margin: 10px 0 4px;
  font-size: var(--jp-ui-font-size2);
}

.tda-panel table {
  border-collapse: collapse;
  width: 100%;
  table-layout: fixed;
}

/* Long names are shortened with an ellipsis; the full text is the cell's tooltip. */
.tda-panel th,
.tda-panel td {
  text-align: left;
  padding: 1px 4px;
  border-bottom: 1px solid var(--jp-border-color2);
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.tda-status,
.tda-preset-info {
  color: var(--jp-ui-font-color2);
  margin: 4px 0;
  overflow-wrap: anywhere;
}

.tda-row {
  display: grid;
  grid-template-columns: minmax(0, 35%) minmax(0, 1fr);
  align-items: center;
  gap: 6px;
  margin: 2px 0;
}

.tda-row > span {
  overflow-wrap: anywhere;
}

.tda-row select,
.tda-row input {
  width: 100%;
  min-width: 0;
  box-sizing: border-box;
  text-overflow: ellipsis;
}

/* Names take the room they need most; numbers keep enough to be read whole. */
.tda-panel th:first-child,
.tda-panel td:first-child {
  width: 38%;
}

.tda-models th:nth-child(2),
.tda-images th:nth-child(2) {
  width: 30%;
}

.tda-estimate-layers th:nth-child(2) {
  width: 27%;
}

.tda-hint {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
  margin: 2px 0 4px;
  overflow-wrap: anywhere;
}

.tda-hint:empty {
  display: none;
}

.tda-images-hint {
  color: var(--jp-warn-color0);
}

.tda-layers {
  max-height: 240px;
  overflow: hidden auto;
}

/* One line per layer, shortened with an ellipsis (the full name is the line's tooltip). */
.tda-layer {
  display: flex;
  align-items: center;
  gap: 4px;
  min-width: 0;
}

.tda-layer-name {
  flex: 1;
  min-width: 0;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.tda-layer.tda-mod-locked {
  color: var(--jp-ui-font-color2);
}

.tda-preview {
  background: var(--jp-cell-editor-background);
  border: 1px solid var(--jp-border-color2);
  padding: 4px;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
}

.tda-preview:empty {
  display: none;
}

.tda-estimate-summary {
  margin: 2px 0;
}

.tda-estimate-pending {
  opacity: 0.5;
}

.tda-estimate-bar {
  height: 6px;
  background: var(--jp-layout-color3);
  margin: 4px 0;
}

.tda-estimate-fill {
  height: 100%;
  background: var(--jp-brand-color1);
}

.tda-over-budget .tda-estimate-fill {
  background: var(--jp-warn-color0);
}

.tda-estimate-warning,
.tda-estimate-error {
  margin: 4px 0;
  padding: 4px 6px;
  border-left: 3px solid var(--jp-warn-color0);
  background: var(--jp-warn-color3);
  color: var(--jp-ui-font-color0);
  overflow-wrap: anywhere;
}

.tda-panel td.tda-empty {
  width: auto;
  white-space: normal;
  color: var(--jp-ui-font-color2);
  border-bottom: none;
}
`,""]),a.d(t,{},{A:i})},314(e){e.exports=function(e){var t=[];return t.toString=function(){return this.map(function(t){var a="",r=void 0!==t[5];return t[4]&&(a+="@supports (".concat(t[4],") {")),t[2]&&(a+="@media ".concat(t[2]," {")),r&&(a+="@layer".concat(t[5].length>0?" ".concat(t[5]):""," {")),a+=e(t),r&&(a+="}"),t[2]&&(a+="}"),t[4]&&(a+="}"),a}).join("")},t.i=function(e,a,r,o,n){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(r)for(var l=0;l<this.length;l++){var s=this[l][0];null!=s&&(i[s]=!0)}for(var d=0;d<e.length;d++){var p=[].concat(e[d]);r&&i[p[0]]||(void 0!==n&&(void 0===p[5]||(p[1]="@layer".concat(p[5].length>0?" ".concat(p[5]):""," {").concat(p[1],"}")),p[5]=n),a&&(p[2]&&(p[1]="@media ".concat(p[2]," {").concat(p[1],"}")),p[2]=a),o&&(p[4]?(p[1]="@supports (".concat(p[4],") {").concat(p[1],"}"),p[4]=o):p[4]="".concat(o)),t.push(p))}},t}},601(e){e.exports=function(e){return e[1]}},72(e){var t=[];function a(e){for(var a=-1,r=0;r<t.length;r++)if(t[r].identifier===e){a=r;break}return a}function r(e,r){for(var o={},n=[],i=0;i<e.length;i++){var l=e[i],s=r.base?l[0]+r.base:l[0],d=o[s]||0,p="".concat(s," ").concat(d);o[s]=d+1;var c=a(p),u={css:l[1],media:l[2],sourceMap:l[3],supports:l[4],layer:l[5]};if(-1!==c)t[c].references++,t[c].updater(u);else{var f=function(e,t){var a=t.domAPI(t);return a.update(e),function(t){t?(t.css!==e.css||t.media!==e.media||t.sourceMap!==e.sourceMap||t.supports!==e.supports||t.layer!==e.layer)&&a.update(e=t):a.remove()}}(u,r);r.byIndex=i,t.splice(i,0,{identifier:p,updater:f,references:1})}n.push(p)}return n}e.exports=function(e,o){var n=r(e=e||[],o=o||{});return function(e){e=e||[];for(var i=0;i<n.length;i++){var l=a(n[i]);t[l].references--}for(var s=r(e,o),d=0;d<n.length;d++){var p=a(n[d]);0===t[p].references&&(t[p].updater(),t.splice(p,1))}n=s}}},659(e){var t={};e.exports=function(e,a){var r=function(e){if(void 0===t[e]){var a=document.querySelector(e);if(window.HTMLIFrameElement&&a instanceof window.HTMLIFrameElement)try{a=a.contentDocument.head}catch(e){a=null}t[e]=a}return t[e]}(e);if(!r)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");r.appendChild(a)}},540(e){e.exports=function(e){var t=document.createElement("style");return e.setAttributes(t,e.attributes),e.insert(t,e.options),t}},56(e,t,a){e.exports=function(e){var t=a.nc;t&&e.setAttribute("nonce",t)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var t=e.insertStyleElement(e);return{update:function(a){var r,o,n;r="",a.supports&&(r+="@supports (".concat(a.supports,") {")),a.media&&(r+="@media ".concat(a.media," {")),(o=void 0!==a.layer)&&(r+="@layer".concat(a.layer.length>0?" ".concat(a.layer):""," {")),r+=a.css,o&&(r+="}"),a.media&&(r+="}"),a.supports&&(r+="}"),(n=a.sourceMap)&&"u">typeof btoa&&(r+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(n))))," */")),e.styleTagTransform(r,t,e.options)},remove:function(){var e;null===(e=t).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,t){if(t.styleSheet)t.styleSheet.cssText=e;else{for(;t.firstChild;)t.removeChild(t.firstChild);t.appendChild(document.createTextNode(e))}}},579(e,t,a){var r=a(72),o=a.n(r),n=a(825),i=a.n(n),l=a(659),s=a.n(l),d=a(56),p=a.n(d),c=a(540),u=a.n(c),f=a(113),h=a.n(f),m=a(475),v={};v.styleTagTransform=h(),v.setAttributes=p(),v.insert=s().bind(null,"head"),v.domAPI=i(),v.insertStyleElement=u(),o()(m.A,v),m.A&&m.A.locals&&m.A.locals}}]);