/**
 * The global the page sets before app.js runs, standing for `import.meta.url` in the bundle: the
 * wasm loader resolves `../../../wasm/` against it, so the page finds the `wasm/` folder beside
 * itself wherever it is served (a subfolder of a static host included).
 */
export const WASM_BASE_GLOBAL = '__attnkitModuleUrl';

/** The viewer's HTML shell (styles inline: the page needs no other file than app.js and wasm/). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>attnkit viewer</title>
<link rel="icon" href="data:,">
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f6fa; }
  header { background: #1f2f4f; color: white; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; flex-wrap: wrap; }
  header h1 { margin: 0; font-size: 18px; }
  #subtitle { opacity: 0.8; font-size: 12px; }
  #runs { display: flex; gap: 6px; margin-left: auto; }
  .run-btn { border: 1px solid #99a; background: white; border-radius: 4px; padding: 2px 10px; cursor: pointer; }
  .run-btn.active { background: #4d7fd6; color: white; border-color: #4d7fd6; }
  .layout { display: grid; grid-template-columns: 300px 1fr; gap: 12px; padding: 12px; align-items: start; }
  #picker { background: white; border: 1px solid #dde; border-radius: 6px; padding: 8px; position: sticky; top: 8px; max-height: calc(100vh - 24px); overflow: auto; display: flex; flex-direction: column; gap: 6px; }
  #rows { list-style: none; margin: 0; padding: 0; }
  .row-item { padding: 4px 6px; border-bottom: 1px solid #eef; cursor: pointer; }
  .row-item:hover { background: #eef3fb; }
  .row-item.active { background: #dbe6f8; }
  .row-item.wrong .row-cls { color: #b3261e; font-weight: 600; }
  .row-id { color: #667; }
  .row-text { color: #555; font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #center { min-width: 0; }
  .record-form { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 6px 14px; }
  .field { display: flex; flex-direction: column; }
  .field-text, .field-keyValue { grid-column: span 2; }
  .field-name { font-weight: 600; font-size: 12px; }
  textarea { font: 12px ui-monospace, monospace; resize: vertical; }
  #views, #dataset { display: flex; gap: 12px; align-items: start; }
  .run-col { flex: 1 1 0; min-width: 0; display: flex; flex-direction: column; gap: 10px; }
  .run-title { font-size: 14px; margin: 4px 0 0; }
  .prediction { background: white; border: 1px solid #dde; border-left: 4px solid #2e8b57; border-radius: 6px; padding: 8px 10px; }
  .prediction.wrong { border-left-color: #b3261e; }
  .pred-json { display: block; font-size: 11px; color: #555; margin-top: 4px; word-break: break-all; }
  .panel { background: white; border: 1px solid #dde; border-radius: 6px; padding: 8px 10px; max-width: 100%; overflow: auto; }
  .panel-head { display: flex; gap: 8px; align-items: center; }
  .panel-head h2 { font-size: 13px; margin: 0 auto 0 0; }
  .panel-head button { font-size: 11px; }
  .note { color: #666; margin: 4px 0; font-size: 12px; }
  #headview .figure { max-height: 620px; overflow: auto; }
  .model-grid { display: grid; gap: 4px; align-items: center; }
  .mv-panel { padding: 2px; border: 2px solid transparent; background: none; cursor: pointer; line-height: 0; }
  .mv-panel.active { border-color: #c4453b; }
  .mv-panel canvas { width: 96px; height: 96px; image-rendering: pixelated; }
  .mv-col, .mv-row { font-size: 11px; color: #555; }
  .headview-box .tip { position: sticky; top: 0; background: white; z-index: 1; }
  .panel.stale:not(:has(.figure)) { min-height: 240px; }
  .hv-controls, .nv-controls { margin: 4px 0; display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  .tip { font-size: 11px; color: #444; min-height: 1.4em; }
  .neuron-head { margin: 6px 0; }
  .neuron-title { font-weight: 600; font-size: 12px; }
  .vec { display: flex; align-items: center; gap: 1px; }
  .vec-name { width: 90px; font-size: 11px; color: #555; }
  .vcell, .scell { display: inline-block; width: 12px; height: 12px; border: 1px solid #eee; }
  .scell { width: 6px; }
  .scell.picked { outline: 2px solid #c4453b; }
  table { border-collapse: collapse; font-size: 12px; }
  th, td { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  .confusion td { cursor: pointer; font-size: 14px; padding: 8px 16px; background: #fbecea; }
  .confusion td.diag { background: #e6f2ea; }
  .confusion td:hover { outline: 2px solid #1f4e9c; }
  footer { padding: 8px 20px; color: #445; font-size: 12px; border-top: 1px solid #dde; background: white; position: sticky; bottom: 0; }
  h3.section { margin: 16px 0 6px; font-size: 15px; }
</style>
</head>
<body>
<header><h1 id="title">attnkit viewer</h1><div id="subtitle">loading the model…</div><nav id="runs"></nav></header>
<div class="layout">
  <aside id="picker"></aside>
  <div id="center">
    <section class="panel" id="record-panel"><div class="panel-head"><h2>Record (edit any field: the model runs again and the views follow)</h2></div><div id="record"></div></section>
    <h3 class="section">This record</h3>
    <main id="views"></main>
    <h3 class="section">The whole test split <span id="ds-status" class="note"></span></h3>
    <div id="dataset"></div>
  </div>
</div>
<footer id="footer"><span id="timing">…</span></footer>
<script>globalThis.${WASM_BASE_GLOBAL} = new URL('src/backend/wasm/index.js', document.baseURI).href;</script>
<script type="module" src="app.js"></script>
</body>
</html>
`;
