// plumewatch viewer: sign-in, map + site table, site page (evidence, review), jobs,
// admin. Plain DOM, no inline script or styles (the server's CSP forbids them).
'use strict';

// Errors a page produced, for the browser test (and anyone debugging).
window.pwErrors = [];
window.addEventListener('error', (e) => window.pwErrors.push('error: ' + e.message));
window.addEventListener('unhandledrejection', (e) => window.pwErrors.push('rejection: ' + String(e.reason)));
document.addEventListener('securitypolicyviolation', (e) =>
  window.pwErrors.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));
const consoleError = console.error.bind(console);
console.error = (...args) => { window.pwErrors.push('console: ' + args.join(' ')); consoleError(...args); };

const state = { user: null, role: null, map: null, sites: [], sort: { key: 'rate_kg_h', dir: -1 } };
const ROLES = { viewer: 0, analyst: 1, admin: 2 };
const can = (role) => state.role && ROLES[state.role] >= ROLES[role];

// --- DOM helpers -------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (sel) => document.querySelector(sel);
function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return typeof v === 'number' ? v.toFixed(digits === undefined ? 1 : digits) : String(v);
}
const fmtRate = (p) => p.rate_kg_h === null ? '–' : `${fmt(p.rate_kg_h)} ± ${fmt(p.rate_sd_kg_h)}`;
const statusBadge = (s) => el('span', { class: 'badge status-' + s }, s.replace('_', ' '));

// --- API ---------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
async function api(path, opts) {
  opts = opts || {};
  const headers = {};
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.method && opts.method !== 'GET') headers['X-CSRF-Token'] = sessionStorage.getItem('pw_csrf') || '';
  const r = await fetch(path, {
    method: opts.method || 'GET', headers, credentials: 'same-origin',
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  if (r.status === 401 && path !== '/api/login') {
    state.user = null;
    location.hash = '#/login';
    throw new ApiError(401, 'signed out');
  }
  const type = r.headers.get('content-type') || '';
  const data = type.includes('json') ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, (data && data.error) || r.statusText);
  return data;
}

// --- layout ------------------------------------------------------------------------
function header() {
  const top = $('#top');
  top.replaceChildren();
  const nav = el('nav', {},
    el('a', { href: '#/map', class: 'brand' }, 'plumewatch'),
    state.user && el('a', { href: '#/map', id: 'nav-map' }, 'Map'),
    state.user && el('a', { href: '#/jobs', id: 'nav-jobs' }, 'Jobs'),
    state.user && can('admin') && el('a', { href: '#/admin', id: 'nav-admin' }, 'Admin'),
    el('span', { class: 'spacer' }),
    state.user && el('span', { class: 'who', id: 'who' }, `${state.user} · ${state.role}`),
    state.user && el('button', { id: 'signout', class: 'link', onclick: signOut }, 'Sign out'));
  top.append(nav);
}

function page(...children) {
  const main = $('#main');
  if (state.map) { state.map.remove(); state.map = null; }
  main.className = '';
  main.replaceChildren(...children);
  return main;
}

function showError(where, e) {
  where.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message || String(e)));
}

// --- sign-in -----------------------------------------------------------------------
function loginPage() {
  const msg = el('div', { id: 'login-message' });
  const form = el('form', { id: 'login-form', class: 'card login', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('/api/login', { method: 'POST', body: { name: $('#login-name').value.trim(), token: $('#login-token').value.trim() } });
      sessionStorage.setItem('pw_csrf', r.csrf);
      state.user = r.user; state.role = r.role;
      header();
      location.hash = '#/map';
    } catch (e) { showError(msg, e); }
  } },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'Use the API token you were given with ', el('code', {}, 'plumewatch users add'), '.'),
    el('label', {}, 'User name', el('input', { id: 'login-name', autocomplete: 'username', required: true })),
    el('label', {}, 'API token', el('input', { id: 'login-token', type: 'password', autocomplete: 'current-password', required: true })),
    el('button', { id: 'login-submit', type: 'submit' }, 'Sign in'),
    msg);
  page(el('div', { class: 'center' }, form));
}

async function signOut() {
  try { await api('/api/logout', { method: 'POST' }); } catch (e) { /* already signed out */ }
  sessionStorage.removeItem('pw_csrf');
  state.user = null; state.role = null;
  header();
  location.hash = '#/login';
}

// --- map + table -------------------------------------------------------------------
async function mapPage() {
  const filters = el('form', { id: 'filters', class: 'filters', onsubmit: (ev) => { ev.preventDefault(); loadSites(); } },
    el('label', {}, 'Campaign', el('select', { id: 'f-campaign' }, el('option', { value: '' }, 'all'))),
    el('label', {}, 'Min rate (kg/h)', el('input', { id: 'f-rate', type: 'number', min: '0', step: 'any' })),
    el('label', {}, 'Status', el('select', { id: 'f-status' },
      ...['', 'pending', 'confirmed', 'dismissed', 'needs_reflight'].map((s) => el('option', { value: s }, s || 'any')))),
    el('button', { type: 'submit' }, 'Filter'),
    el('a', { id: 'export', class: 'button secondary', href: '/api/export/sites.geojson', download: 'sites.geojson' }, 'Export GeoJSON'));
  const cols = [['rank', '#'], ['campaign', 'Campaign'], ['rate_kg_h', 'Rate (kg/h)'], ['max_enhancement_ppm_m', 'Max (ppm·m)'], ['status', 'Status'], ['detected_at', 'Detected']];
  const thead = el('thead', {}, el('tr', {}, ...cols.map(([k, label]) =>
    el('th', { 'data-key': k, class: 'sortable', onclick: () => { state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : -1 }; renderTable(); } }, label))));
  const table = el('table', { id: 'site-table', class: 'sites' }, thead, el('tbody'));
  const side = el('section', { class: 'side' }, filters, el('div', { id: 'site-count', class: 'muted' }), el('div', { class: 'table-wrap' }, table));
  const mapDiv = el('div', { id: 'map' });
  const main = page(el('div', { class: 'split' }, el('section', { class: 'mapbox' }, mapDiv, legend()), side));
  main.className = 'full';
  try {
    const campaigns = await api('/api/campaigns');
    if (!$('#f-campaign')) return;
    for (const c of campaigns) $('#f-campaign').append(el('option', { value: c.name }, `${c.name} (${c.sites})`));
  } catch (e) { if (e.status !== 401) showError($('#site-count'), e); return; }
  initMap();
  await loadSites();
}

function legend() {
  return el('div', { class: 'legend' },
    el('div', {}, el('span', { class: 'ramp' }), ' CH₄ enhancement (ppm·m)'),
    el('div', {}, el('span', { class: 'dot status-pending' }), ' pending ', el('span', { class: 'dot status-confirmed' }), ' confirmed ',
      el('span', { class: 'dot status-dismissed' }), ' dismissed ', el('span', { class: 'dot status-needs_reflight' }), ' reflight'));
}

// Map layer groups the viewer can switch on and off: [group, label].
const LAYER_GROUPS = [['basemap', 'Basemap'], ['quicklook', 'Flight-line quicklook (SWIR albedo)'],
  ['enhancement', 'CH₄ enhancement'], ['plumes', 'Plume outlines']];

function layerControl(map, groups) {
  const box = el('div', { id: 'layers', class: 'layers' }, el('div', { class: 'layers-title' }, 'Layers'));
  for (const [group, label] of LAYER_GROUPS) {
    if (!groups[group] || !groups[group].length) continue;
    box.append(el('label', {}, el('input', { type: 'checkbox', id: 'layer-' + group, checked: true, onchange: (ev) => {
      $('#map').dataset.idle = '0';
      for (const id of groups[group]) map.setLayoutProperty(id, 'visibility', ev.target.checked ? 'visible' : 'none');
      if (group === 'quicklook') footprints(map, groups, !ev.target.checked);
      map.once('idle', () => { $('#map').dataset.idle = '1'; });
    } }), ' ', label));
  }
  return box;
}

// Over a quicklook, enhancement tiles leave the sub-noise footprint transparent.
function footprints(map, groups, show) {
  for (const id of groups.enhancement) {
    const src = map.getSource(id);
    const line = groups.lines[id];
    if (src && line.quicklook) src.setTiles([location.origin + line.tiles + (show ? '' : '?footprint=false')]);
  }
}

async function addBasemap(map, viewer, groups) {
  if (viewer.basemap) {
    map.addSource('basemap', { type: 'raster', tiles: [viewer.basemap], tileSize: 256, maxzoom: 19 });
    map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap' });
    groups.basemap.push('basemap');
  }
  const pm = viewer.basemap_pmtiles;
  if (!pm) return;
  if (!state.pmtiles) {
    state.pmtiles = new pmtiles.Protocol();
    maplibregl.addProtocol('pmtiles', state.pmtiles.tile);
  }
  const url = location.origin + pm.url;
  const archive = new pmtiles.PMTiles(url);
  state.pmtiles.add(archive);
  if (pm.tile_type === 'mvt') {
    // A vector basemap without a style of its own: outlines of every layer it holds.
    const meta = await archive.getMetadata();
    map.addSource('basemap', { type: 'vector', url: 'pmtiles://' + url });
    for (const layer of meta.vector_layers || []) {
      const id = 'basemap-' + layer.id;
      map.addLayer({ id: id + '-fill', type: 'fill', source: 'basemap', 'source-layer': layer.id,
        filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#2b3440', 'fill-opacity': 0.6 } });
      map.addLayer({ id: id + '-line', type: 'line', source: 'basemap', 'source-layer': layer.id,
        paint: { 'line-color': '#5c6b7a', 'line-width': 0.8 } });
      groups.basemap.push(id + '-fill', id + '-line');
    }
  } else {
    map.addSource('basemap', { type: 'raster', url: 'pmtiles://' + url, tileSize: 256 });
    map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap' });
    groups.basemap.push('basemap');
  }
}

function initMap() {
  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#11161d' } }] },
    center: [0, 0], zoom: 1, attributionControl: false,
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('load', async () => {
    try {
      const [viewer, lines] = await Promise.all([api('/api/viewer'), api('/api/flight-lines')]);
      if (state.map !== map) return; // left the page meanwhile
      const groups = { basemap: [], quicklook: [], enhancement: [], plumes: [], lines: {} };
      await addBasemap(map, viewer, groups);
      if (state.map !== map) return;
      const bounds = new maplibregl.LngLatBounds();
      for (const l of lines) {
        if (!l.quicklook) continue;
        map.addSource('ql-' + l.id, { type: 'raster', tiles: [location.origin + l.quicklook], tileSize: 256, bounds: l.bounds, minzoom: 0, maxzoom: 20 });
        map.addLayer({ id: 'ql-' + l.id, type: 'raster', source: 'ql-' + l.id, paint: { 'raster-resampling': 'nearest', 'raster-fade-duration': 0 } });
        groups.quicklook.push('ql-' + l.id);
      }
      for (const l of lines) {
        const tiles = location.origin + l.tiles + (l.quicklook ? '?footprint=false' : '');
        map.addSource('line-' + l.id, { type: 'raster', tiles: [tiles], tileSize: 256, bounds: l.bounds, minzoom: 0, maxzoom: 20 });
        map.addLayer({ id: 'line-' + l.id, type: 'raster', source: 'line-' + l.id, paint: { 'raster-resampling': 'nearest', 'raster-fade-duration': 0 } });
        groups.enhancement.push('line-' + l.id);
        groups.lines['line-' + l.id] = l;
        bounds.extend([l.bounds[0], l.bounds[1]]); bounds.extend([l.bounds[2], l.bounds[3]]);
      }
      const plumes = await api('/api/plumes');
      if (state.map !== map) return;
      map.addSource('plumes', { type: 'geojson', data: plumes });
      map.addLayer({ id: 'plume-fill', type: 'fill', source: 'plumes', paint: { 'fill-color': '#ff8c1a', 'fill-opacity': 0.12 } });
      map.addLayer({ id: 'plume-line', type: 'line', source: 'plumes', paint: { 'line-color': '#ffd43b', 'line-width': 1.6 } });
      groups.plumes.push('plume-fill', 'plume-line');
      map.addSource('sites', { type: 'geojson', data: { type: 'FeatureCollection', features: state.sites } });
      map.addLayer({ id: 'sites', type: 'circle', source: 'sites', paint: {
        'circle-radius': ['interpolate', ['linear'], ['coalesce', ['get', 'rate_kg_h'], 0], 0, 6, 500, 12],
        'circle-color': ['match', ['get', 'status'], 'confirmed', '#2f9e44', 'dismissed', '#868e96', 'needs_reflight', '#1c7ed6', '#e8590c'],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
      const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 10 });
      map.on('click', 'sites', (e) => { location.hash = '#/site/' + e.features[0].properties.id; });
      map.on('mouseenter', 'sites', (e) => {
        map.getCanvas().style.cursor = 'pointer';
        const p = e.features[0].properties;
        popup.setLngLat(e.features[0].geometry.coordinates)
          .setDOMContent(el('div', { class: 'popup' }, el('strong', {}, 'S' + p.rank), ` ${fmtRate({ rate_kg_h: p.rate_kg_h === undefined ? null : p.rate_kg_h, rate_sd_kg_h: p.rate_sd_kg_h })} kg/h · ${String(p.status).replace('_', ' ')}`))
          .addTo(map);
      });
      map.on('mouseleave', 'sites', () => { map.getCanvas().style.cursor = ''; popup.remove(); });
      $('.mapbox').append(layerControl(map, groups));
      if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, duration: 0 });
      map.once('idle', () => { $('#map').dataset.ready = String(state.sites.length); });
    } catch (e) { if (e.status !== 401) console.error('map: ' + e.message); }
  });
}

async function loadSites() {
  if (!$('#site-table')) return; // the user has left the map page
  const q = new URLSearchParams();
  if ($('#f-campaign').value) q.set('campaign', $('#f-campaign').value);
  if ($('#f-rate').value) q.set('min_rate', $('#f-rate').value);
  if ($('#f-status').value) q.set('status', $('#f-status').value);
  $('#export').href = '/api/export/sites.geojson' + (q.toString() ? '?' + q : '');
  try {
    const fc = await api('/api/sites?' + q);
    if (!$('#site-table')) return;
    state.sites = fc.features;
    renderTable();
    const src = state.map && state.map.getSource('sites');
    if (src) src.setData(fc);
  } catch (e) { if (e.status !== 401) showError($('#site-count'), e); }
}

function renderTable() {
  if (!$('#site-table')) return;
  const { key, dir } = state.sort;
  const rows = [...state.sites].sort((a, b) => {
    const x = a.properties[key], y = b.properties[key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
  for (const th of document.querySelectorAll('#site-table th')) th.classList.toggle('sorted', th.dataset.key === key);
  $('#site-count').textContent = `${rows.length} site${rows.length === 1 ? '' : 's'}`;
  $('#site-table tbody').replaceChildren(...rows.map((f) => {
    const p = f.properties;
    return el('tr', { 'data-site': p.id, class: 'clickable', onclick: () => { location.hash = '#/site/' + p.id; } },
      el('td', {}, 'S' + p.rank), el('td', {}, p.campaign), el('td', { class: 'num' }, fmtRate(p)),
      el('td', { class: 'num' }, fmt(p.max_enhancement_ppm_m, 0)), el('td', {}, statusBadge(p.status)),
      el('td', { class: 'muted' }, (p.detected_at || '').slice(0, 10)));
  }));
}

// --- site page ---------------------------------------------------------------------
async function sitePage(id) {
  const main = page(el('p', { class: 'muted' }, 'Loading…'));
  let s;
  try { s = await api('/api/sites/' + encodeURIComponent(id)); } catch (e) { if (e.status !== 401) showError(main, e); return; }
  const p = s.properties;
  const [lon, lat] = s.geometry.coordinates;
  const numbers = [
    ['Emission rate', `${fmtRate(p)} kg/h`],
    ['Max enhancement', `${fmt(p.max_enhancement_ppm_m, 0)} ppm·m`],
    ['Significance', fmt(p.significance, 2)],
    ['False-alarm probability', p.false_alarm_probability === null || p.false_alarm_probability === undefined ? '–' : Number(p.false_alarm_probability).toExponential(1)],
    ['Detections / passes', `${fmt(p.n_detections, 0)} in ${fmt(p.n_passes_detected, 0)} of ${fmt(p.n_passes_covering, 0)}`],
    ['Location', `${lat.toFixed(5)}°, ${lon.toFixed(5)}°`],
    ['Campaign', p.campaign],
    ['Detected', (p.detected_at || '').replace('T', ' ').slice(0, 19) + ' UTC'],
    ['Status', statusBadge(p.status)],
  ];
  const history = el('ol', { id: 'review-history', class: 'history' },
    ...(s.reviews.length ? s.reviews.map((r) => el('li', {}, statusBadge(r.verdict), ' ', el('strong', {}, r.user), ' ',
      el('span', { class: 'muted' }, r.at.replace('T', ' ').slice(0, 19)), r.note ? el('div', { class: 'note' }, r.note) : null))
      : [el('li', { class: 'muted' }, 'No reviews yet.')]));
  const review = can('analyst') ? reviewForm(id) : null;
  main.replaceChildren(
    el('p', {}, el('a', { href: '#/map' }, '← Map')),
    el('h1', { id: 'site-title' }, `Site S${p.rank} `, statusBadge(p.status), el('span', { class: 'muted sub' }, ` ${p.campaign} · ${fmtRate(p)} kg/h`)),
    el('div', { class: 'site-grid' },
      el('div', {},
        el('figure', { class: 'card evidence' },
          p.evidence_url ? el('img', { id: 'evidence', src: p.evidence_url, alt: 'evidence chip: enhancement around the site' }) : el('p', { class: 'muted' }, 'No evidence image.'),
          el('figcaption', { class: 'muted' }, 'Evidence: CH₄ enhancement (ppm·m) around the source, plume outline and wind.'))),
      el('div', {},
        el('section', { class: 'card' }, el('h2', {}, 'Estimate'),
          el('table', { class: 'numbers', id: 'site-numbers' }, el('tbody', {}, ...numbers.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)))))),
        el('section', { class: 'card' }, el('h2', {}, 'Review history'), history),
        review)));
}

function reviewForm(id) {
  const msg = el('div', { id: 'review-message' });
  return el('form', { id: 'review-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api(`/api/sites/${id}/review`, { method: 'POST', body: { verdict: $('#review-verdict').value, note: $('#review-note').value } });
      sitePage(id);
    } catch (e) { showError(msg, e); }
  } },
    el('h2', {}, 'Review'),
    el('label', {}, 'Verdict', el('select', { id: 'review-verdict' },
      el('option', { value: 'confirmed' }, 'Confirmed: a real source'),
      el('option', { value: 'dismissed' }, 'Dismissed: not a source'),
      el('option', { value: 'needs_reflight' }, 'Needs reflight'))),
    el('label', {}, 'Note', el('textarea', { id: 'review-note', rows: '3', maxlength: '4000', placeholder: 'What you saw and why' })),
    el('button', { id: 'review-submit', type: 'submit' }, 'Record verdict'), msg);
}

// --- jobs --------------------------------------------------------------------------
async function jobsPage() {
  const list = el('tbody');
  const msg = el('div', { id: 'job-message' });
  const form = can('analyst') ? el('form', { id: 'job-form', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const config = JSON.parse($('#job-config').value);
      const r = await api('/api/jobs', { method: 'POST', body: { campaign: $('#job-campaign').value, config } });
      msg.replaceChildren(el('p', {}, `Job ${r.id} queued.`));
      follow(r.id); loadJobs(list);
    } catch (e) { showError(msg, e); }
  } },
    el('h2', {}, 'Submit a scan'),
    el('label', {}, 'Campaign', el('select', { id: 'job-campaign' })),
    el('label', {}, 'Scan configuration (cube paths relative to the server\'s data directory)',
      el('textarea', { id: 'job-config', rows: '5', class: 'mono' }, '{"flight_lines": [{"cube": "emit_small/radiance.hdr", "wind": {"speed_m_s": 6, "from_deg": 300}}]}')),
    el('button', { type: 'submit' }, 'Submit'), msg) : null;
  page(el('h1', {}, 'Scan jobs'), form,
    el('table', { id: 'jobs-table', class: 'card sites' }, el('thead', {}, el('tr', {}, ...['Job', 'Campaign', 'User', 'Status', 'Progress', 'Message', 'Submitted'].map((h) => el('th', {}, h)))), list));
  try {
    const campaigns = form ? await api('/api/campaigns') : [];
    for (const c of campaigns) if ($('#job-campaign')) $('#job-campaign').append(el('option', { value: c.name }, c.name));
    await loadJobs(list);
  } catch (e) { if (e.status !== 401) showError(msg, e); }
}

async function loadJobs(list) {
  const jobs = await api('/api/jobs');
  list.replaceChildren(...jobs.map((j) => el('tr', { 'data-job': j.id },
    el('td', {}, j.id), el('td', {}, j.campaign), el('td', {}, j.user), el('td', {}, statusBadge(j.status)),
    el('td', {}, el('progress', { max: '1', value: String(j.progress) })), el('td', { class: 'muted' }, j.stage ? `${j.stage}: ${j.message}` : j.message),
    el('td', { class: 'muted' }, j.created_at.replace('T', ' ').slice(0, 19)))));
  for (const j of jobs) if (j.status === 'queued' || j.status === 'running') follow(j.id);
}

function follow(id) {
  const es = new EventSource(`/api/jobs/${id}/events`);
  es.addEventListener('state', (ev) => {
    const s = JSON.parse(ev.data);
    const row = document.querySelector(`#jobs-table tr[data-job="${id}"]`);
    if (row) {
      row.children[3].replaceChildren(statusBadge(s.status));
      row.children[4].firstChild.value = s.progress;
      row.children[5].textContent = s.stage ? `${s.stage}: ${s.message}` : s.message;
    }
    if (s.status === 'succeeded' || s.status === 'failed') es.close();
  });
  es.onerror = () => es.close();
}

// --- admin -------------------------------------------------------------------------
async function adminPage() {
  if (!can('admin')) { page(el('p', { class: 'error' }, 'Admins only.')); return; }
  const users = el('tbody'), audit = el('tbody');
  const msg = el('div', { id: 'admin-message' });
  const addForm = el('form', { id: 'user-form', class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('/api/users', { method: 'POST', body: { name: $('#u-name').value.trim(), role: $('#u-role').value } });
      msg.replaceChildren(el('p', {}, `Token for ${r.name} (shown once): `, el('code', { id: 'new-token' }, r.token)));
      adminPage();
    } catch (e) { showError(msg, e); }
  } }, el('input', { id: 'u-name', placeholder: 'name', required: true }),
  el('select', { id: 'u-role' }, ...['viewer', 'analyst', 'admin'].map((r) => el('option', { value: r }, r))), el('button', { type: 'submit' }, 'Add user'));
  const grantForm = el('form', { id: 'grant-form', class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api(`/api/users/${encodeURIComponent($('#g-user').value.trim())}/grants`, { method: 'POST', body: { campaign: $('#g-campaign').value.trim() } });
      adminPage();
    } catch (e) { showError(msg, e); }
  } }, el('input', { id: 'g-user', placeholder: 'user', required: true }), el('input', { id: 'g-campaign', placeholder: 'campaign', required: true }), el('button', { type: 'submit' }, 'Grant'));
  const filter = el('input', { id: 'audit-filter', placeholder: 'action, e.g. site.review', onchange: () => loadAudit(audit) });
  page(el('h1', {}, 'Administration'), msg,
    el('section', { class: 'card' }, el('h2', {}, 'Users and grants'), addForm, grantForm,
      el('table', { id: 'users-table', class: 'sites' }, el('thead', {}, el('tr', {}, el('th', {}, 'User'), el('th', {}, 'Role'), el('th', {}, 'Campaigns'))), users)),
    el('section', { class: 'card' }, el('h2', {}, 'Audit log'), el('p', { class: 'muted' }, 'Newest first. Verify the chain with ', el('code', {}, 'plumewatch audit verify'), '.'), filter,
      el('div', { class: 'table-wrap tall' }, el('table', { id: 'audit-table', class: 'sites audit' },
        el('thead', {}, el('tr', {}, ...['#', 'Time (UTC)', 'User', 'Action', 'Object', 'Client', 'Outcome'].map((h) => el('th', {}, h)))), audit))));
  try {
    const list = await api('/api/users');
    users.replaceChildren(...list.map((u) => el('tr', {}, el('td', {}, u.name), el('td', {}, u.role), el('td', {}, u.campaigns.join(', ') || '–'))));
    await loadAudit(audit);
  } catch (e) { if (e.status !== 401) showError(msg, e); }
}

async function loadAudit(tbody) {
  const action = $('#audit-filter') && $('#audit-filter').value.trim();
  const recs = await api('/api/audit?limit=300' + (action ? '&action=' + encodeURIComponent(action) : ''));
  if (!tbody.isConnected) return;
  tbody.replaceChildren(...recs.map((r) => el('tr', { 'data-action': r.action },
    el('td', {}, r.seq), el('td', { class: 'muted' }, r.ts.replace('T', ' ').slice(0, 19)), el('td', {}, r.user), el('td', {}, r.action),
    el('td', {}, r.object), el('td', { class: 'muted' }, r.client), el('td', { class: r.outcome.startsWith('ok') ? '' : 'warn' }, r.outcome))));
}

// --- routing -----------------------------------------------------------------------
async function route() {
  const hash = location.hash || '#/map';
  if (!state.user && hash !== '#/login') {
    try {
      const me = await api('/api/session');
      state.user = me.user; state.role = me.role;
    } catch (e) { return; }
  }
  header();
  const [, name, arg] = hash.split('/');
  if (name === 'login') loginPage();
  else if (name === 'site' && arg) sitePage(arg);
  else if (name === 'jobs') jobsPage();
  else if (name === 'admin') adminPage();
  else mapPage();
}

window.addEventListener('hashchange', route);
route();
