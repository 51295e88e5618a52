"""The admin dashboard (``GET /`` on the admin port): per router and per client requests,
success rate and latency, refreshed every second from ``/admin/metrics.json``, and a dtab
playground that explains a path through ``/delegator.json`` (``/?path=/svc/web&dtab=…``
runs it at once). One static page, no external assets."""

from __future__ import annotations

DASHBOARD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roost mesh</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
input { font: inherit; width: 28em; } ul { list-style: none; padding-left: 1.2em; }
.t { font-weight: 600; } .neg, .fail, .exception { color: #b00; } .leaf { color: #070; }
</style></head>
<body>
<h1>roost mesh</h1>
<h2>Routers</h2>
<table id="routers"><thead><tr><th>router</th><th>requests</th><th>success</th>
<th>success rate</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table>
<h2>Clients</h2>
<table id="clients"><thead><tr><th>client</th><th>requests</th><th>success</th>
<th>success rate</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table>
<h2>Dtab playground</h2>
<form id="play"><p><input id="path" placeholder="/svc/web"></p>
<p><input id="dtab" placeholder="extra dtab (optional): /svc/web => /#/io.l5d.fs/web-v2"></p>
<p><input id="router" placeholder="router (optional)"> <button>explain</button></p></form>
<div id="tree"></div>
<script>
function sum(m, re) { let n = 0; for (const k in m) if (re.test(k)) n += m[k]; return n; }
function groups(m, scope) {
  const out = {}, re = new RegExp('^rt/([^/]+)/' + scope + '/(.+)/requests$');
  for (const k in m) { const g = re.exec(k); if (g) out[g[1] + (scope === 'client' ? ' ' + g[2] : '')] = [g[1], g[2]]; }
  return out;
}
function row(name, m, base) {
  const req = m[base + '/requests'] || 0, ok = m[base + '/success'] || 0;
  const rate = req ? (100 * ok / req).toFixed(2) + ' %' : '-';
  const p50 = m[base + '/request_latency_ms.p50'], p99 = m[base + '/request_latency_ms.p99'];
  return '<tr><td class="name">' + name + '</td><td class="requests">' + req + '</td><td>' + ok +
    '</td><td class="rate">' + rate + '</td><td>' + (p50 ?? '-') + '</td><td>' + (p99 ?? '-') + '</td></tr>';
}
async function refresh() {
  const m = await (await fetch('/admin/metrics.json')).json();
  const routers = new Set();
  for (const k in m) { const g = /^rt\\/([^/]+)\\//.exec(k); if (g) routers.add(g[1]); }
  let rows = '';
  for (const r of [...routers].sort()) {
    const servers = Object.keys(m).filter(k => k.startsWith('rt/' + r + '/server/') && k.endsWith('/requests'));
    const base = servers.length ? servers[0].slice(0, -'/requests'.length) : 'rt/' + r + '/server';
    rows += row(r, m, base);
  }
  document.querySelector('#routers tbody').innerHTML = rows;
  rows = '';
  for (const [label, [r, id]] of Object.entries(groups(m, 'client')).sort()) rows += row(r + ' → /' + id, m, 'rt/' + r + '/client/' + id);
  document.querySelector('#clients tbody').innerHTML = rows;
}
function render(node) {
  let html = '<li><span class="t ' + node.type + '">' + node.type + '</span> ' + (node.path || '');
  if (node.dentry) html += ' <small>(' + node.dentry.prefix + ' =&gt; ' + node.dentry.dst + ')</small>';
  if (node.bound) html += ' → <span class="bound">' + node.bound.id + '</span> ' +
    (node.bound.addr.addrs || []).map(a => a.ip + ':' + a.port).join(', ');
  if (node.message) html += ' <em>' + node.message + '</em>';
  const kids = node.delegate ? [node.delegate] : node.alt ? node.alt : node.union ? node.union.map(u => u.tree) : [];
  if (kids.length) html += '<ul>' + kids.map(render).join('') + '</ul>';
  return html + '</li>';
}
async function explain(path, dtab, router) {
  const q = new URLSearchParams({path: path, dtab: dtab || ''});
  if (router) q.set('router', router);
  const rep = await fetch('/delegator.json?' + q);
  document.getElementById('tree').innerHTML = rep.ok ? '<ul id="explained">' + render(await rep.json()) + '</ul>'
    : '<p class="fail">' + (await rep.text()) + '</p>';
}
document.getElementById('play').addEventListener('submit', e => {
  e.preventDefault();
  explain(document.getElementById('path').value, document.getElementById('dtab').value, document.getElementById('router').value);
});
const params = new URLSearchParams(location.search);
if (params.get('path')) explain(params.get('path'), params.get('dtab'), params.get('router'));
refresh(); setInterval(refresh, 1000);
</script></body></html>
"""
