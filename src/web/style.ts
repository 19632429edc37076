/**
 * The status page's only style sheet, inlined (the server's CSP allows inline styles and nothing
 * else). Colours pair with a word everywhere, never alone. Below 760 px the tables turn into
 * stacked cards, one per row, each cell labelled from its data-label (an incident's card packs
 * two cells a line), so a phone never scrolls sideways; long names and command lines wrap anywhere.
 */
export const STYLE = `
:root{color-scheme:light;--good:#2e7d32;--bad:#c62828;--warn:#f9a825;--none:#e3e6e8;--ink:#1b1f23;--muted:#5f6b76;--line:#d5dade;--head:#eef1f3}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;padding:16px 20px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--ink);background:#f7f8fa}
header{margin-bottom:8px}
h1{font-size:1.45rem;margin:0 0 6px;overflow-wrap:anywhere}
h1 .ver{font-weight:400;color:var(--muted);font-size:1rem;margin-left:6px}
h2{font-size:1.1rem;margin:22px 0 8px}
.facts{display:flex;flex-wrap:wrap;gap:2px 18px;margin:0}
.facts div{display:flex;gap:5px;min-width:0}
.facts dt{color:var(--muted)}
.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere;min-width:0}
.summary{margin:10px 0 0}
.summary .tag{margin-right:4px}
.fine{color:var(--muted);font-size:.85rem;margin:6px 0 0}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}
th,td{padding:7px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:var(--head);font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#3a4650;white-space:nowrap}
tbody th{font-weight:700}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
tbody th{min-width:10em}
td.pm2{min-width:8em}
time,.nw{white-space:nowrap}
.sub{display:block;color:var(--muted);font-size:.82rem;font-weight:400}
code{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
ul.ports{list-style:none;margin:0;padding:0}
ul.ports li+li{margin-top:4px}
td.health{font-weight:700;min-width:7.5em}
td.health .sub{color:inherit;opacity:.95}
.good{--bg:var(--good);--fg:#fff}
.bad{--bg:var(--bad);--fg:#fff}
.warn{--bg:var(--warn);--fg:#1b1f23}
.none{--bg:var(--none);--fg:#1b1f23}
td.health,.tag{background:var(--bg);color:var(--fg)}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:.85em;white-space:nowrap}
.empty{color:var(--muted);font-style:italic}
@media (max-width:760px){
  body{padding:12px 10px 24px}
  table,thead,tbody,tr,th,td{display:block}
  table{border:0;background:none}
  thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  tr{background:#fff;border:1px solid var(--line);border-radius:4px;margin:0 0 12px;overflow:hidden}
  tbody td{display:grid;grid-template-columns:minmax(0,7.5em) minmax(0,1fr);gap:8px;border-bottom:1px solid #eceff1}
  tbody th{background:var(--head);font-size:1.05rem;border-bottom:1px solid var(--line)}
  tbody td:last-child{border-bottom:0}
  tbody [data-label]::before{content:attr(data-label);color:var(--muted);font-size:.78rem;font-weight:600;text-transform:uppercase;letter-spacing:.03em;padding-top:2px}
  td.health::before{color:inherit}
  td.num{white-space:normal}
  #incidents tr{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
  #incidents td{display:block;border-bottom:0;padding:5px 10px}
  #incidents td::before{display:block;padding:0}
  #incidents td.wide{grid-column:1/-1}
  #incidents td:nth-child(-n+2){background:var(--head)}
}
`;
