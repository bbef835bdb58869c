/** The viewer's HTML shell (styles inline: the page needs no other file than app.js). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>attnkit viewer</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f6fa; }
  header { background: #1f2f4f; color: white; padding: 12px 20px; }
  header h1 { margin: 0; font-size: 20px; }
  #subtitle { opacity: 0.8; font-size: 12px; }
  #controls { padding: 10px 20px; background: white; border-bottom: 1px solid #dde; position: sticky; top: 0; z-index: 1; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  .head-btn { margin-right: 4px; border: 1px solid #99a; background: white; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
  .head-btn.active { background: #1f4e9c; color: white; border-color: #1f4e9c; }
  main { padding: 12px 20px; display: flex; flex-wrap: wrap; gap: 16px; }
  .panel { background: white; border: 1px solid #dde; border-radius: 6px; padding: 10px 12px; max-width: 100%; overflow: auto; }
  .panel-head { display: flex; gap: 8px; align-items: center; }
  .panel-head h2 { font-size: 14px; margin: 0 auto 0 0; }
  .panel-head button { font-size: 11px; }
  .sample-info { width: 100%; margin: 0; font-weight: 600; }
  .note { color: #666; }
  table { border-collapse: collapse; font-size: 12px; }
  th, td { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
</style>
</head>
<body>
<header><h1 id="title">attnkit viewer</h1><div id="subtitle">loading…</div></header>
<nav id="controls"></nav>
<main id="main"></main>
<script type="module" src="app.js"></script>
</body>
</html>
`;
