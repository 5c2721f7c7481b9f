/**
 * `GET /docs`: a self-contained reference page that renders `/openapi.json` in the browser. No CDN
 * and no package assets: Cairn often runs where the network is not, and the document is plain
 * enough (operations grouped by tag, their parameters, body and reply schemas) to show with a
 * hundred lines of script. Schemas are shown as JSON with their `$ref`s as links.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cairn API reference</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d232a; background: #fafafa; }
  header { background: #1d232a; color: #fff; padding: 16px 24px; }
  header h1 { margin: 0; font-size: 20px; }
  header p { margin: 4px 0 0; opacity: .8; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 64px; }
  #filter { width: 100%; padding: 8px; font-size: 15px; box-sizing: border-box; margin: 8px 0 16px; }
  h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
  details.op { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 6px 0; }
  details.op > summary { cursor: pointer; padding: 8px 12px; list-style: none; display: flex; gap: 12px; align-items: baseline; }
  .m { font: bold 12px monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 52px; text-align: center; }
  .get { background: #2b7bb9; } .post { background: #2f9e44; } .put { background: #d08700; } .patch { background: #8f5bd6; } .delete { background: #c92a2a; }
  .path { font-family: monospace; font-weight: 600; }
  .sum { color: #555; }
  .body { padding: 0 16px 12px; }
  pre { background: #f3f4f6; padding: 8px; overflow: auto; font-size: 12.5px; border-radius: 4px; }
  table { border-collapse: collapse; font-size: 14px; }
  td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
  code { font-size: 13px; }
  .desc { white-space: pre-wrap; }
</style>
</head>
<body>
<header><h1>Cairn API reference</h1><p id="sub">Loading <a href="openapi.json" style="color:#9cf">openapi.json</a>…</p></header>
<main>
<input id="filter" placeholder="Filter operations: path, summary or tag" autocomplete="off">
<div id="intro" class="desc"></div>
<div id="ops"></div>
<div id="components"></div>
</main>
<script>
(function () {
  'use strict';
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function schemaBlock(schema) {
    var pre = el('pre');
    var text = JSON.stringify(schema, null, 2);
    // $refs become links to the component below; everything else is text.
    var re = /"#\\/components\\/schemas\\/([A-Za-z0-9_]+)"/g, last = 0, m;
    while ((m = re.exec(text))) {
      pre.appendChild(document.createTextNode(text.slice(last, m.index)));
      pre.appendChild(el('a', { href: '#schema-' + m[1], text: '"#/components/schemas/' + m[1] + '"' }));
      last = m.index + m[0].length;
    }
    pre.appendChild(document.createTextNode(text.slice(last)));
    return pre;
  }
  function render(doc) {
    document.getElementById('sub').textContent = doc.info.title + ' ' + doc.info.version + ' · OpenAPI ' + doc.openapi + ' · ';
    document.getElementById('sub').appendChild(el('a', { href: 'openapi.json', style: 'color:#9cf', text: 'openapi.json' }));
    document.getElementById('intro').textContent = doc.info.description || '';
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || 'Other';
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    var ops = document.getElementById('ops');
    var order = (doc.tags || []).map(function (t) { return t.name; });
    Object.keys(byTag).sort(function (a, b) { return (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99); }).forEach(function (tag) {
      ops.appendChild(el('h2', { text: tag }));
      byTag[tag].forEach(function (x) {
        var op = x.op, body = el('div', { class: 'body' });
        if (op.description) body.appendChild(el('p', { class: 'desc', text: op.description }));
        if (op['x-cairn-aliases']) body.appendChild(el('p', { text: 'Also at: ' + op['x-cairn-aliases'].join(', ') }));
        if (op.parameters && op.parameters.length) {
          var rows = op.parameters.map(function (p) {
            return el('tr', {}, [el('td', {}, [el('code', { text: p.name })]), el('td', { text: p.in + (p.required ? ', required' : '') }), el('td', {}, [schemaBlock(p.schema)])]);
          });
          body.appendChild(el('h4', { text: 'Parameters' }));
          body.appendChild(el('table', {}, [el('tr', {}, [el('th', { text: 'Name' }), el('th', { text: 'In' }), el('th', { text: 'Schema' })])].concat(rows)));
        }
        if (op.requestBody) {
          body.appendChild(el('h4', { text: 'Request body (application/json)' }));
          body.appendChild(schemaBlock(op.requestBody.content['application/json'].schema));
        }
        Object.keys(op.responses || {}).forEach(function (code) {
          var r = op.responses[code];
          body.appendChild(el('h4', { text: 'Reply ' + code + ': ' + r.description }));
          if (r.content) Object.keys(r.content).forEach(function (type) { body.appendChild(el('div', { text: type })); body.appendChild(schemaBlock(r.content[type].schema)); });
        });
        var d = el('details', { class: 'op', 'data-text': (x.method + ' ' + x.path + ' ' + (op.summary || '') + ' ' + tag).toLowerCase() }, [
          el('summary', {}, [el('span', { class: 'm ' + x.method, text: x.method.toUpperCase() }), el('span', { class: 'path', text: x.path }), el('span', { class: 'sum', text: op.summary || '' })]),
          body,
        ]);
        ops.appendChild(d);
      });
    });
    var comps = document.getElementById('components');
    comps.appendChild(el('h2', { text: 'Schemas' }));
    Object.keys((doc.components && doc.components.schemas) || {}).forEach(function (name) {
      comps.appendChild(el('h3', { id: 'schema-' + name, text: name }));
      comps.appendChild(schemaBlock(doc.components.schemas[name]));
    });
    document.getElementById('filter').addEventListener('input', function (e) {
      var q = e.target.value.toLowerCase();
      document.querySelectorAll('details.op').forEach(function (d) { d.style.display = d.getAttribute('data-text').indexOf(q) >= 0 ? '' : 'none'; });
    });
  }
  fetch('openapi.json').then(function (r) { return r.json(); }).then(render, function (e) {
    document.getElementById('sub').textContent = 'Could not load openapi.json: ' + e;
  });
})();
</script>
</body>
</html>
`;
