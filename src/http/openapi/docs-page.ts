/**
 * The /docs page: the OpenAPI document embedded in one self-contained HTML page with a small
 * renderer (no CDN, no external script or style, works offline and behind a strict proxy). The
 * renderer builds DOM nodes with textContent only, so text from the document is never parsed as HTML.
 */
export function docsPage(spec: unknown, title: string): string {
  // `<` escaped so the JSON cannot close its <script> element.
  const json = JSON.stringify(spec).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><main id="app"><noscript>This page renders the OpenAPI document with JavaScript; the raw document is at openapi.json.</noscript></main>
<script type="application/json" id="spec">${json}</script>
<script>${SCRIPT}</script></body></html>`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:32px}
details{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:10px 14px;display:flex;gap:12px;align-items:baseline}
.m{font:600 12px monospace;text-transform:uppercase;padding:2px 8px;border-radius:4px;color:#fff;min-width:48px;text-align:center}
.get{background:#2f6fdb}.post{background:#1f9d55}.put,.patch{background:#c77c02}.delete{background:#d64545}
.p{font-family:monospace;font-weight:600}.s{color:#5b6475}
.body{padding:4px 16px 14px;border-top:1px solid #eef0f3}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
code,.t{font-family:monospace;font-size:13px}.t{color:#7a3e9d}.req{color:#d64545;font-size:12px}
ul.schema{list-style:none;padding-left:16px;margin:2px 0;border-left:2px solid #eef0f3}
.status{font:600 13px monospace}
`

// Plain ES5-style script: no backticks (this file is a template literal), no innerHTML.
const SCRIPT = `
(function () {
  var spec = JSON.parse(document.getElementById('spec').textContent);
  var app = document.getElementById('app');
  app.textContent = '';
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (var i = 3; i < arguments.length; i++) if (arguments[i]) e.appendChild(arguments[i]);
    return e;
  }
  function refName(ref) { return ref.split('/').pop(); }
  function resolve(s) { return s && s.$ref ? (spec.components.schemas[refName(s.$ref)] || {}) : s || {}; }
  function typeOf(s) {
    if (s.$ref) return refName(s.$ref);
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    var t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
    if (t === 'array') return 'array of ' + typeOf(s.items || {});
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(typeOf).join(' | ');
    return (t || 'any') + (s.format ? ' (' + s.format + ')' : '');
  }
  function schemaNode(s, depth, seen) {
    var ul = el('ul', 'schema');
    var r = resolve(s);
    if (r.type === 'array' && r.items) r = resolve(r.items);
    if (!r.properties || depth > 4) return null;
    var required = r.required || [];
    Object.keys(r.properties).forEach(function (name) {
      var p = r.properties[name];
      var li = el('li', null, null, el('code', null, name), el('span', null, ': '), el('span', 't', typeOf(p)));
      if (required.indexOf(name) >= 0) li.appendChild(el('span', 'req', ' required'));
      var d = resolve(p).description || p.description;
      if (d) li.appendChild(el('span', 's', ' \\u2014 ' + d));
      var key = p.$ref || (p.items && p.items.$ref);
      if (!key || seen.indexOf(key) < 0) {
        var child = schemaNode(p, depth + 1, key ? seen.concat([key]) : seen);
        if (child) li.appendChild(child);
      }
      ul.appendChild(li);
    });
    return ul;
  }
  // A schema named by $ref is expanded once per operation (the Error shape of 4xx/5xx, say).
  function schemaBlock(content, shown) {
    var box = el('div');
    Object.keys(content || {}).forEach(function (type) {
      var s = content[type].schema || {};
      box.appendChild(el('div', null, null, el('code', null, type), el('span', null, ' '), el('span', 't', typeOf(s))));
      var d = resolve(s).description;
      if (d) box.appendChild(el('div', 's', d));
      if (s.$ref && shown.indexOf(s.$ref) >= 0) return;
      if (s.$ref) shown.push(s.$ref);
      var tree = schemaNode(s, 0, s.$ref ? [s.$ref] : []);
      if (tree) box.appendChild(tree);
    });
    return box;
  }
  function operation(path, method, op) {
    var body = el('div', 'body');
    var shown = [];
    if (op.description) body.appendChild(el('p', null, op.description));
    if (op.security && op.security.length) body.appendChild(el('p', 's', 'Needs Authorization: Bearer <token> when the server has an API token.'));
    if (op.parameters && op.parameters.length) {
      var table = el('table', null, null, el('tr', null, null, el('th', null, 'parameter'), el('th', null, 'in'), el('th', null, 'type')));
      op.parameters.forEach(function (p) {
        table.appendChild(el('tr', null, null, el('td', null, null, el('code', null, p.name), p.required ? el('span', 'req', ' required') : null),
          el('td', null, p.in), el('td', 't', typeOf(p.schema || {}))));
      });
      body.appendChild(el('h4', null, 'Parameters'));
      body.appendChild(table);
    }
    if (op.requestBody) {
      body.appendChild(el('h4', null, 'Request body' + (op.requestBody.required ? '' : ' (optional)')));
      body.appendChild(schemaBlock(op.requestBody.content, shown));
    }
    body.appendChild(el('h4', null, 'Responses'));
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = op.responses[status];
      body.appendChild(el('div', null, null, el('span', 'status', status), el('span', 's', ' ' + (r.description || ''))));
      if (r.content) body.appendChild(schemaBlock(r.content, shown));
    });
    return el('details', null, null,
      el('summary', null, null, el('span', 'm ' + method, method), el('span', 'p', path), el('span', 's', op.summary || '')), body);
  }
  app.appendChild(el('h1', null, spec.info.title));
  app.appendChild(el('div', 's', 'version ' + spec.info.version + ' \\u00b7 OpenAPI ' + spec.openapi + ' \\u00b7 '));
  app.lastChild.appendChild(Object.assign(el('a', null, 'openapi.json'), { href: 'openapi.json' }));
  if (spec.info.description) app.appendChild(el('p', null, spec.info.description));
  var base = (spec.servers && spec.servers[0] && spec.servers[0].url) || '';
  app.appendChild(el('h2', null, 'Routes'));
  Object.keys(spec.paths).forEach(function (path) {
    Object.keys(spec.paths[path]).forEach(function (method) {
      app.appendChild(operation((base === '/' ? '' : base) + path, method, spec.paths[path][method]));
    });
  });
})();
`
