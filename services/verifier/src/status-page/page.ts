/**
 * The status page: one self-contained document (no CDN, no framework) that polls
 * `api/status` (relative, so it also works behind a proxy under a sub-path) and draws
 * everything itself, the charts as SVG. Every value from the JSON is set with
 * `textContent` or `setAttribute`, never parsed as markup: table names can be anything.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>liteshift status</title>
<style>
:root { --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --blue: #0969da; --amber: #bf8700; --purple: #8250df; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--bg); }
header h1 { font-size: 18px; margin: 0; }
main { padding: 16px 24px 24px; max-width: 1280px; }
section { margin-bottom: 22px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.badge { font-weight: 700; padding: 4px 12px; border-radius: 6px; color: #fff; background: var(--muted); letter-spacing: .02em; }
.badge.ready { background: var(--ok); }
.badge.not-ready { background: var(--bad); }
.muted { color: var(--muted); }
.ok { color: var(--ok); }
.bad { color: var(--bad); font-weight: 600; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; margin-bottom: 10px; }
ul { margin: 0; padding-left: 20px; }
#summary { margin: 0; }
#summary:empty { display: none; }
#reasons li { color: var(--bad); }
#warnings li { color: var(--amber); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.card span { display: block; color: var(--muted); font-size: 12px; }
.card b { font-size: 18px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
td:first-child { white-space: normal; word-break: break-all; font-weight: 600; }
th { background: var(--bg); font-weight: 600; }
.bar { display: inline-block; width: 110px; height: 8px; border-radius: 4px; background: #eaeef2; overflow: hidden; vertical-align: middle; margin-right: 6px; }
.bar i { display: block; height: 100%; background: var(--blue); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption small { font-weight: normal; margin-left: 10px; }
svg { display: block; width: 100%; height: 200px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
footer { margin-top: 8px; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>liteshift</h1>
  <span id="verdict" class="badge">no verdict yet</span>
  <span id="checked" class="muted">waiting for the first verification</span>
</header>
<main>
  <div id="notices"></div>
  <section>
    <h2>Verdict</h2>
    <p id="summary" class="ok"></p>
    <ul id="reasons"></ul>
    <ul id="warnings"></ul>
  </section>
  <section>
    <h2>Pipeline</h2>
    <div id="cards" class="cards"></div>
  </section>
  <section>
    <h2>Tables</h2>
    <table>
      <thead><tr><th>table</th><th>phase</th><th>progress</th><th>loader lag</th><th>SQLite rows</th><th>PostgreSQL rows</th><th>missing</th><th>extra</th><th>changed</th><th>parity</th></tr></thead>
      <tbody id="tables"></tbody>
    </table>
  </section>
  <section>
    <h2>Over time</h2>
    <div class="charts">
      <figure><figcaption>Applied per second<small id="legend-throughput"></small></figcaption><svg id="chart-throughput" viewBox="0 0 600 200" preserveAspectRatio="none" role="img" aria-label="messages applied per second over time"></svg></figure>
      <figure><figcaption>Lag<small id="legend-lag"></small></figcaption><svg id="chart-lag" viewBox="0 0 600 200" preserveAspectRatio="none" role="img" aria-label="extractor and loader lag over time"></svg></figure>
    </div>
  </section>
  <footer id="footer" class="muted"></footer>
</main>
<script>
'use strict';
var POLL_MS = 2000;
var SVG = 'http://www.w3.org/2000/svg';
var samples = [];
var since = 0;

function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = String(text);
  return node;
}
function fill(id, nodes) {
  var parent = document.getElementById(id);
  parent.replaceChildren.apply(parent, nodes);
}
function num(n) {
  return n === null || n === undefined ? '\\u2014' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
}
function ago(iso) {
  var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}
function clock(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

function renderVerdict(state) {
  var badge = document.getElementById('verdict');
  var v = state.verdict;
  badge.textContent = v ? v.verdict : 'no verdict yet';
  badge.className = 'badge' + (v ? (v.verdict === 'READY' ? ' ready' : ' not-ready') : '');
  document.getElementById('checked').textContent = v
    ? 'checked ' + ago(v.checkedAt) + ' (' + clock(Date.parse(v.checkedAt)) + ', took ' + (v.durationMs / 1000).toFixed(1) + ' s); every ' + state.intervalSeconds + ' s'
    : 'waiting for the first verification (every ' + state.intervalSeconds + ' s)';
  document.getElementById('summary').textContent = v && v.verdict === 'READY' ? 'no reason against READY: every table agrees' : '';
  fill('reasons', (v ? v.reasons : []).map(function (r) { return el('li', '', r); }));
  fill('warnings', (v ? v.warnings : []).map(function (w) { return el('li', '', 'warning: ' + w); }));
}

function renderNotices(state) {
  var notes = [];
  if (state.readError) notes.push('reading the pipeline failed (trying again): ' + state.readError);
  if (state.verifyError) notes.push('the last verification failed (trying again at the next interval): ' + state.verifyError);
  if (!state.kafka) notes.push('no Kafka brokers given (--kafka-brokers / KAFKA_BROKERS): no loader lag, no dead letters, differences are not re-checked');
  fill('notices', notes.map(function (n) { return el('div', 'notice', n); }));
}

function card(label, value, cls) {
  var c = el('div', 'card');
  c.appendChild(el('span', '', label));
  c.appendChild(el('b', cls || '', value));
  return c;
}

function renderCards(state) {
  var e = state.extractor;
  var last = samples.length ? samples[samples.length - 1] : null;
  fill('cards', [
    card('extractor', e ? e.phase : '\\u2014'),
    card('SQLite', e && e.fenced ? 'fenced: writes refused' : 'takes writes', e && e.fenced ? 'bad' : ''),
    card('extractor lag', e && e.captured ? num(e.lag) : '\\u2014'),
    card('loader lag', num(state.loaderLag)),
    card('applied / s', last ? num(last.appliedPerSecond) : '\\u2014'),
    card('rejected rows', num(state.rejects), state.rejects ? 'bad' : ''),
    card('dead letters', num(state.deadLettered), state.deadLettered ? 'bad' : ''),
    card('changelog head / produced', e && e.captured ? e.head + ' / ' + e.position : '\\u2014'),
  ].concat(state.fallback ? [
    card('direction', 'PostgreSQL \\u2192 SQLite (fallback)'),
    card('fallback lag', num(state.fallback.lag), state.fallback.lag ? 'warn' : ''),
    card('PostgreSQL', state.fallback.postgresFenced ? 'fenced: writes refused (rollback)' : 'takes writes', state.fallback.postgresFenced ? 'bad' : ''),
  ] : []));
}

function progressCell(t) {
  var td = el('td');
  var percent = t.phase === 'snapshot' ? (t.snapshot ? t.snapshot.percent : 0) : t.phase === 'streaming' ? 100 : null;
  if (percent === null) {
    td.textContent = '\\u2014';
    return td;
  }
  var bar = el('span', 'bar');
  var inner = el('i');
  inner.style.width = percent + '%';
  bar.appendChild(inner);
  td.appendChild(bar);
  td.appendChild(document.createTextNode(t.snapshot && t.phase === 'snapshot' ? num(t.snapshot.done) + ' / ' + num(t.snapshot.total) : percent + '%'));
  return td;
}

function renderTables(state) {
  fill('tables', state.tables.map(function (t) {
    var tr = el('tr');
    tr.setAttribute('data-table', t.table);
    var p = t.parity;
    tr.appendChild(el('td', '', t.table));
    var phase = el('td', '', t.phase === 'snapshot' && t.snapshot ? 'snapshot ' + t.snapshot.percent + '%' : t.phase);
    if (t.note) phase.appendChild(el('div', 'muted note', t.note));
    tr.appendChild(phase);
    tr.appendChild(progressCell(t));
    tr.appendChild(el('td', '', num(t.loaderLag)));
    tr.appendChild(el('td', '', p ? num(p.sourceRows) : '\\u2014'));
    tr.appendChild(el('td', p && p.targetRows !== p.sourceRows ? 'bad' : '', p ? (p.targetRows === null ? 'missing' : num(p.targetRows)) : '\\u2014'));
    tr.appendChild(el('td', p && p.missing ? 'bad' : '', p ? num(p.missing) : '\\u2014'));
    tr.appendChild(el('td', p && p.extra ? 'bad' : '', p ? num(p.extra) : '\\u2014'));
    tr.appendChild(el('td', p && p.changed ? 'bad' : '', p ? num(p.changed) : '\\u2014'));
    var parity = el('td', p ? (p.agrees ? 'ok' : 'bad') : 'muted', p ? (p.agrees ? 'ok' : 'DIFFERS') : 'not verified yet');
    parity.setAttribute('data-parity', p ? (p.agrees ? 'ok' : 'differs') : 'unknown');
    tr.appendChild(parity);
    return tr;
  }));
}

function svgNode(tag, attrs, text) {
  var node = document.createElementNS(SVG, tag);
  for (var k in attrs) node.setAttribute(k, String(attrs[k]));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** Lines over the window; a null value (lag unknown, first rate) breaks its line. */
function drawChart(id, legendId, series, windowSeconds) {
  var svg = document.getElementById(id);
  var W = 600, H = 200, L = 56, R = 10, T = 10, B = 22;
  var end = samples.length ? samples[samples.length - 1].at : Date.now();
  var start = Math.max(samples.length ? samples[0].at : end, end - windowSeconds * 1000);
  if (end - start < 60000) start = end - 60000;
  var max = 0;
  series.forEach(function (s) { samples.forEach(function (x) { var v = s.value(x); if (v !== null && v > max) max = v; }); });
  max = max > 0 ? max * 1.1 : 1;
  var xOf = function (at) { return L + ((at - start) / (end - start)) * (W - L - R); };
  var yOf = function (v) { return T + (1 - v / max) * (H - T - B); };
  var nodes = [];
  [0, 0.5, 1].forEach(function (f) {
    var y = yOf(max * f);
    nodes.push(svgNode('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
    nodes.push(svgNode('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, num(max * f)));
  });
  nodes.push(svgNode('text', { x: L, y: H - 6 }, clock(start)));
  nodes.push(svgNode('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, clock(end)));
  series.forEach(function (s) {
    var points = [];
    var flush = function () {
      if (points.length) nodes.push(svgNode('polyline', { points: points.join(' '), class: 'series', stroke: s.color, 'vector-effect': 'non-scaling-stroke' }));
      points = [];
    };
    samples.forEach(function (x) {
      var v = s.value(x);
      if (v === null || x.at < start) return flush();
      points.push(xOf(x.at).toFixed(1) + ',' + yOf(v).toFixed(1));
    });
    flush();
    // The newest value as a dot: a line needs two readings, and the latest one matters most.
    var last = samples.filter(function (x) { return s.value(x) !== null && x.at >= start; }).pop();
    if (last) nodes.push(svgNode('circle', { cx: xOf(last.at), cy: yOf(s.value(last)), r: 3, fill: s.color }));
  });
  svg.replaceChildren.apply(svg, nodes);
  fill(legendId, series.map(function (s) {
    var item = el('span', '', '\\u25A0 ' + s.name + ' ');
    item.style.color = s.color;
    return item;
  }));
}

function render(state) {
  renderVerdict(state);
  renderNotices(state);
  renderCards(state);
  renderTables(state);
  drawChart('chart-throughput', 'legend-throughput', [{ name: 'messages applied / s', color: '#0969da', value: function (x) { return x.appliedPerSecond; } }], state.historyWindowSeconds);
  drawChart('chart-lag', 'legend-lag', [
    { name: 'extractor lag', color: '#8250df', value: function (x) { return x.extractorLag; } },
    { name: 'loader lag', color: '#bf8700', value: function (x) { return x.loaderLag; } },
  ], state.historyWindowSeconds);
  document.getElementById('footer').textContent = 'status read ' + (state.readAt ? ago(state.readAt) : 'never') + '; this page refreshes every ' + POLL_MS / 1000 + ' s; chart: last ' + Math.round(state.historyWindowSeconds / 60) + ' min';
}

function poll() {
  fetch('api/status' + (since ? '?since=' + since : ''), { cache: 'no-store' })
    .then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.json();
    })
    .then(function (state) {
      samples = samples.concat(state.history);
      if (samples.length) since = samples[samples.length - 1].at;
      var oldest = since - state.historyWindowSeconds * 1000;
      samples = samples.filter(function (x) { return x.at >= oldest; });
      render(state);
      document.body.setAttribute('data-loaded', 'true');
    })
    .catch(function (error) {
      fill('notices', [el('div', 'notice', 'cannot reach the verifier: ' + error.message + ' (is liteshift verify --watch still running?)')]);
    })
    .finally(function () { setTimeout(poll, POLL_MS); });
}
poll();
</script>
</body>
</html>
`;
