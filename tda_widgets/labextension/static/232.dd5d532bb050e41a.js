"use strict";(self.rspackChunktda_widgets=self.rspackChunktda_widgets||[]).push([[232],{475(e,t,r){var a=r(601),n=r.n(a),o=r(314),i=(r.n(o))()(n());i.push([e.id,`.tda-panel {
  padding: 8px;
  overflow: auto;
  min-width: 260px;
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
}

.tda-panel th,
.tda-panel td {
  text-align: left;
  padding: 1px 4px;
  border-bottom: 1px solid var(--jp-border-color2);
}

.tda-status,
.tda-preset-info {
  color: var(--jp-ui-font-color2);
  margin: 4px 0;
  overflow-wrap: anywhere;
}

.tda-row {
  display: flex;
  justify-content: space-between;
  gap: 6px;
  margin: 2px 0;
}

.tda-row select,
.tda-row input {
  flex: 1;
  max-width: 65%;
}

.tda-layers {
  max-height: 240px;
  overflow: auto;
}

.tda-layer {
  display: block;
  white-space: nowrap;
}

.tda-preview {
  background: var(--jp-cell-editor-background);
  border: 1px solid var(--jp-border-color2);
  padding: 4px;
  white-space: pre-wrap;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
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
`,""]),r.d(t,{},{A:i})},314(e){e.exports=function(e){var t=[];return t.toString=function(){return this.map(function(t){var r="",a=void 0!==t[5];return t[4]&&(r+="@supports (".concat(t[4],") {")),t[2]&&(r+="@media ".concat(t[2]," {")),a&&(r+="@layer".concat(t[5].length>0?" ".concat(t[5]):""," {")),r+=e(t),a&&(r+="}"),t[2]&&(r+="}"),t[4]&&(r+="}"),r}).join("")},t.i=function(e,r,a,n,o){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(a)for(var s=0;s<this.length;s++){var c=this[s][0];null!=c&&(i[c]=!0)}for(var p=0;p<e.length;p++){var l=[].concat(e[p]);a&&i[l[0]]||(void 0!==o&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=o),r&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=r),n&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=n):l[4]="".concat(n)),t.push(l))}},t}},601(e){e.exports=function(e){return e[1]}},72(e){var t=[];function r(e){for(var r=-1,a=0;a<t.length;a++)if(t[a].identifier===e){r=a;break}return r}function a(e,a){for(var n={},o=[],i=0;i<e.length;i++){var s=e[i],c=a.base?s[0]+a.base:s[0],p=n[c]||0,l="".concat(c," ").concat(p);n[c]=p+1;var d=r(l),u={css:s[1],media:s[2],sourceMap:s[3],supports:s[4],layer:s[5]};if(-1!==d)t[d].references++,t[d].updater(u);else{var f=function(e,t){var r=t.domAPI(t);return r.update(e),function(t){t?(t.css!==e.css||t.media!==e.media||t.sourceMap!==e.sourceMap||t.supports!==e.supports||t.layer!==e.layer)&&r.update(e=t):r.remove()}}(u,a);a.byIndex=i,t.splice(i,0,{identifier:l,updater:f,references:1})}o.push(l)}return o}e.exports=function(e,n){var o=a(e=e||[],n=n||{});return function(e){e=e||[];for(var i=0;i<o.length;i++){var s=r(o[i]);t[s].references--}for(var c=a(e,n),p=0;p<o.length;p++){var l=r(o[p]);0===t[l].references&&(t[l].updater(),t.splice(l,1))}o=c}}},659(e){var t={};e.exports=function(e,r){var a=function(e){if(void 0===t[e]){var r=document.querySelector(e);if(window.HTMLIFrameElement&&r instanceof window.HTMLIFrameElement)try{r=r.contentDocument.head}catch(e){r=null}t[e]=r}return t[e]}(e);if(!a)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");a.appendChild(r)}},540(e){e.exports=function(e){var t=document.createElement("style");return e.setAttributes(t,e.attributes),e.insert(t,e.options),t}},56(e,t,r){e.exports=function(e){var t=r.nc;t&&e.setAttribute("nonce",t)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var t=e.insertStyleElement(e);return{update:function(r){var a,n,o;a="",r.supports&&(a+="@supports (".concat(r.supports,") {")),r.media&&(a+="@media ".concat(r.media," {")),(n=void 0!==r.layer)&&(a+="@layer".concat(r.layer.length>0?" ".concat(r.layer):""," {")),a+=r.css,n&&(a+="}"),r.media&&(a+="}"),r.supports&&(a+="}"),(o=r.sourceMap)&&"u">typeof btoa&&(a+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(o))))," */")),e.styleTagTransform(a,t,e.options)},remove:function(){var e;null===(e=t).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,t){if(t.styleSheet)t.styleSheet.cssText=e;else{for(;t.firstChild;)t.removeChild(t.firstChild);t.appendChild(document.createTextNode(e))}}},579(e,t,r){var a=r(72),n=r.n(a),o=r(825),i=r.n(o),s=r(659),c=r.n(s),p=r(56),l=r.n(p),d=r(540),u=r.n(d),f=r(113),v=r.n(f),m=r(475),h={};h.styleTagTransform=v(),h.setAttributes=l(),h.insert=c().bind(null,"head"),h.domAPI=i(),h.insertStyleElement=u(),n()(m.A,h),m.A&&m.A.locals&&m.A.locals}}]);