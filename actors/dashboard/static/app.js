// The live dashboard: keeps a model (the snapshot's /status with every event applied, in
// order), renders it incrementally, draws the entry-cost charts and sends the controls.
// Plain JavaScript, no build step; the page's only other script is the vendored uPlot.
'use strict';

(() => {
  const STALE_MS = 5000; // no event and no keep-alive this long: the connection is dead
  const WATCH_MS = 250; // how often the connection's silence is looked at
  const RETRY_MS = 1000; // until the stream says otherwise (`retry:`)
  const STOPPED_RETRY_MS = 2000; // after `bye`: look for the next start this often
  const MAX_RETRY_MS = 10000; // attempts failing one after another wait at most this long
  const KEEP = 100; // recent fills and alerts, as /status keeps them
  const CHART_S = 3600; // the charts show the last hour
  const CHART_EVERY_MS = 1000; // a chart is redrawn at most this often
  const SEQS_KEPT = 200000; // window.basis.seqs keeps the newest this many
  const HOLDING = new Set(['position_open', 'exiting', 'imbalanced']);
  const QUOTE_FIELDS = ['spot_bid', 'spot_ask', 'futures_bid', 'futures_ask'];

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ the test hook
  const basis = {
    run: null,
    seqs: [], // every seq applied, in order (a snapshot starts them again)
    model: null,
    connected: false,
    snapshots: 0,
    fillSeenAt: {}, // fill_id -> when the page applied its event (Unix time)
    staleMs: STALE_MS, // silence that ends a connection (tests lower it)
    cut: () => stream.cut(), // ends the current stream as a network failure would
    silence: () => {
      stream.deaf = stream.controller; // the current stream hears nothing more, as over a dead network
    },
    marks: (symbol) => (charts.has(symbol) ? charts.get(symbol).marks.slice() : []), // [[ts, kind]]
  };
  window.basis = basis;

  // --------------------------------------------------------------------- formatting
  // Every number shown is a <span class="num"> with data-path, data-value (the model's
  // number as JSON), data-decimals and data-unit; its text is fmt(value, decimals, unit).
  // Units: "USDT", "%", a base asset, "rate%" (a fraction shown as a percentage),
  // "time" (Unix time shown as HH:MM:SS UTC), "h", "ms", "s", "" (a count).
  function fixed(value, decimals) {
    const text = value.toFixed(decimals);
    const negative = text.startsWith('-');
    const [whole, part] = (negative ? text.slice(1) : text).split('.');
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (negative ? '-' : '') + grouped + (part === undefined ? '' : '.' + part);
  }

  function utcTime(ts) {
    return new Date(Math.floor(ts) * 1000).toISOString().slice(11, 19);
  }

  function fmt(value, decimals, unit) {
    if (value === null || value === undefined) return '—';
    if (typeof value !== 'number') return String(value);
    if (unit === 'time') return utcTime(value);
    if (unit === 'rate%') return fixed(value * 100, decimals) + ' %';
    const text = fixed(value, decimals);
    return unit ? text + ' ' + unit : text;
  }

  function priceDecimals(price) {
    if (price === null || price === undefined) return 2;
    const size = Math.abs(price);
    return size >= 1000 || size === 0 ? 2 : size >= 1 ? 4 : 6;
  }

  function ago(ts) {
    if (!ts) return '';
    const s = Math.max(0, Date.now() / 1000 - ts);
    if (s < 60) return `${Math.floor(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  }

  // ------------------------------------------------------------------ DOM helpers
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function num(path, decimals, unit) {
    const span = el('span', 'num', '—');
    span.dataset.path = path;
    span.dataset.value = 'null';
    span.dataset.decimals = String(decimals);
    span.dataset.unit = unit || '';
    return span;
  }

  // Writes only what changed: the DOM is touched when the value (or its decimals) did.
  function setNum(span, value, decimals) {
    const json = JSON.stringify(value === undefined ? null : value);
    const places = decimals === undefined ? span.dataset.decimals : String(decimals);
    if (span.dataset.value === json && span.dataset.decimals === places) return;
    span.dataset.value = json;
    span.dataset.decimals = places;
    span.textContent = fmt(value, Number(places), span.dataset.unit);
    const signed = ['USDT', '%'].includes(span.dataset.unit) && typeof value === 'number';
    span.classList.toggle('neg', signed && value < 0);
  }

  function setText(node, text) {
    const value = text === null || text === undefined ? '' : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  // Keeps `container`'s children one per item, in the items' order, made once per key
  // and updated in place; gone keys are removed.
  const keyedRows = new WeakMap();
  function keyed(container, items, keyOf, create, update) {
    let rows = keyedRows.get(container);
    if (!rows) keyedRows.set(container, (rows = new Map()));
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      let row = rows.get(key);
      if (!row) {
        row = create(item, key);
        rows.set(key, row);
      }
      update(row, item);
      const wanted = previous ? previous.nextSibling : container.firstChild;
      if (row !== wanted) container.insertBefore(row, wanted);
      previous = row;
    }
    for (const [key, row] of rows) {
      if (!seen.has(key)) {
        row.remove();
        rows.delete(key);
      }
    }
  }

  // A label and its values, as one line of a card: [label, [node, ...]].
  function line(label, ...nodes) {
    const row = el('div', 'line');
    row.append(el('span', 'label', label));
    const values = el('span', 'values');
    nodes.forEach((node, i) => {
      if (i) values.append(el('span', 'sep', ' · '));
      values.append(node);
    });
    row.append(values);
    return row;
  }

  // ------------------------------------------------------------------------- model
  let model = null;
  const taskIndex = new Map(); // task_id -> the model's task object

  const dirty = {
    all: true,
    health: true,
    totals: true,
    tasks: new Set(),
    orders: true,
    fills: true,
    alerts: true,
  };

  function taskOf(taskId) {
    return taskIndex.get(taskId);
  }

  function byCreated(a, b) {
    if (a.created_ts !== b.created_ts) return a.created_ts - b.created_ts;
    return a.client_id < b.client_id ? -1 : a.client_id > b.client_id ? 1 : 0;
  }

  function applySnapshot(data) {
    model = data.status;
    model.tasks = model.tasks || [];
    model.recent_fills = model.recent_fills || [];
    if (model.alerts) model.alerts.recent = model.alerts.recent || [];
    taskIndex.clear();
    for (const task of model.tasks) {
      task.orders = task.orders || [];
      taskIndex.set(task.task_id, task);
      const chart = chartOf(task.symbol);
      if (task.entry_cost_pct !== undefined) chart.add(data.at, task.entry_cost_pct);
    }
    const seenAt = {};
    for (const fill of model.recent_fills) seenAt[fill.fill_id] = basis.fillSeenAt[fill.fill_id] ?? Date.now() / 1000;
    basis.fillSeenAt = seenAt;
    basis.model = model;
    dirty.all = true;
  }

  function applyChanges(data) {
    let task = taskOf(data.task_id);
    if (!task) {
      task = { orders: [] };
      model.tasks.push(task);
      taskIndex.set(data.task_id, task);
    }
    for (const [field, value] of Object.entries(data.changes)) {
      if (field !== 'orders') task[field] = value;
    }
    if ('entry_cost_pct' in data.changes) chartOf(task.symbol).add(data.at, task.entry_cost_pct);
    dirty.tasks.add(data.task_id);
  }

  // One function per event kind (the server's contract, section 4): each applies one
  // event to the model and says what needs drawing again.
  const APPLY = {
    health(data) {
      for (const [key, value] of Object.entries(data.changes)) {
        if (key === 'alerts') {
          const recent = model.alerts ? model.alerts.recent : [];
          model.alerts = value === null ? null : { ...value, recent };
          dirty.alerts = true;
        } else {
          model[key] = value;
        }
      }
      dirty.health = true;
    },
    task: applyChanges,
    quote: applyChanges,
    transition(data) {
      const entered = !HOLDING.has(data.from) && HOLDING.has(data.to);
      const left = HOLDING.has(data.from) && !HOLDING.has(data.to);
      if (entered || left) chartOf(data.symbol).mark(data.at, entered ? 'entry' : 'exit');
    },
    task_removed(data) {
      const task = taskOf(data.task_id);
      if (!task) return;
      model.tasks.splice(model.tasks.indexOf(task), 1);
      taskIndex.delete(data.task_id);
      dirty.tasks.add(data.task_id);
      dirty.orders = true;
    },
    order(data) {
      const task = taskOf(data.task_id);
      if (!task) return;
      const at = task.orders.findIndex((o) => o.client_id === data.order.client_id);
      if (at >= 0) task.orders[at] = data.order;
      else task.orders.push(data.order);
      task.orders.sort(byCreated);
      dirty.orders = true;
    },
    order_done(data) {
      const task = taskOf(data.task_id);
      if (!task) return;
      task.orders = task.orders.filter((o) => o.client_id !== data.client_id);
      dirty.orders = true;
    },
    fill(data) {
      model.recent_fills.push(data.fill);
      basis.fillSeenAt[data.fill.fill_id] = Date.now() / 1000;
      if (model.recent_fills.length > KEEP) {
        const gone = model.recent_fills.splice(0, model.recent_fills.length - KEEP);
        for (const fill of gone) delete basis.fillSeenAt[fill.fill_id];
      }
      dirty.fills = true;
    },
    alert(data) {
      if (!model.alerts) return;
      model.alerts.recent.push(data.alert);
      if (model.alerts.recent.length > KEEP) model.alerts.recent.splice(0, model.alerts.recent.length - KEEP);
      dirty.alerts = true;
    },
    totals(data) {
      model.totals = data.totals;
      dirty.totals = true;
    },
  };

  // Applies one event. Returns false when the page cannot go on from it (an event of
  // another run, one with no snapshot before it, or a seq skipped): the stream must then
  // start again from a fresh snapshot. A throw (a malformed event) means the same.
  function onEvent(kind, id, text) {
    const dot = id.lastIndexOf('.');
    const run = id.slice(0, dot);
    const seq = Number(id.slice(dot + 1));
    const data = JSON.parse(text);
    if (kind === 'snapshot') {
      applySnapshot(data);
      basis.run = run;
      basis.seqs = [seq];
      basis.snapshots += 1;
    } else {
      if (!model || run !== basis.run) return false;
      const last = basis.seqs[basis.seqs.length - 1];
      if (seq <= last) return true; // already applied
      if (seq !== last + 1) return false; // a gap: what was missed is not known
      const apply = APPLY[kind];
      if (apply) apply(data);
      basis.seqs.push(seq);
      if (basis.seqs.length > SEQS_KEPT) basis.seqs.splice(0, basis.seqs.length - SEQS_KEPT / 2);
    }
    scheduleRender();
    return true;
  }

  // Splits the stream's text into blocks (an event or a comment, each ended by a blank
  // line) in time linear in what arrives: each chunk is split once, and the unfinished
  // block is kept as pieces joined once it ends (a snapshot spans many chunks). A line
  // break or a blank line split between two chunks is put together again.
  function blockSplitter() {
    let pieces = []; // the unfinished block
    let endsLine = false; // the text so far ends with a line break: a blank line may be half here
    let endsCR = false; // the text so far ends with '\r': a '\n' opening the next chunk is its pair
    return (chunk) => {
      let text = endsCR && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
      if (text === '') return [];
      endsCR = text.endsWith('\r');
      text = text.replace(/\r\n?/g, '\n');
      const blocks = [];
      if (endsLine && text.startsWith('\n')) {
        blocks.push(pieces.join(''));
        pieces = [];
        text = text.slice(1);
        endsLine = false;
        if (text === '') return blocks;
      }
      const parts = text.split('\n\n');
      const tail = parts.pop();
      if (parts.length) {
        pieces.push(parts[0]);
        blocks.push(pieces.join(''));
        for (let i = 1; i < parts.length; i += 1) blocks.push(parts[i]);
        pieces = [];
      }
      pieces.push(tail);
      endsLine = text.endsWith('\n');
      return blocks;
    };
  }

  // ------------------------------------------------------------------- the stream
  // /events read with fetch rather than EventSource: EventSource hides the keep-alive
  // comments (so a silent instance could not be told from a quiet one) and cannot be
  // told to stop retrying on a 401. Last-Event-ID is sent as EventSource would.
  //
  // A connection that brings nothing for basis.staleMs (no event, no keep-alive; the
  // server sends one every 2 s), or an attempt not answered in that time, is dead even
  // though no error says so (a network switch, a laptop that slept, a NAT that forgot
  // it): it is cut and opened again with Last-Event-ID, which replays what was missed.
  // Attempts that fail one after another wait twice as long each time, up to
  // MAX_RETRY_MS (the silence counting as part of the wait), so a dead instance is not
  // hammered.
  const stream = {
    lastId: null, // the id of the newest event applied: what a reconnection asks to follow
    retryMs: RETRY_MS,
    failures: 0, // connections lost since one last brought something the page could use
    heardAt: 0, // when the instance was last heard from
    attemptAt: 0, // when the current connection last showed a sign of life (or was opened)
    state: 'connecting', // connecting | live | reconnecting | stopped
    cause: null, // why reconnecting: lost | silent | resync
    since: null,
    byeReason: null,
    controller: null,
    deaf: null, // the controller of a connection basis.silence() made hear nothing
    leaving: false,

    async connect() {
      if (this.leaving) return;
      const controller = (this.controller = new AbortController());
      this.attemptAt = Date.now();
      const headers = { Accept: 'text/event-stream' };
      if (this.lastId) headers['Last-Event-ID'] = this.lastId;
      try {
        const response = await fetch('/events', {
          headers,
          signal: controller.signal,
          cache: 'no-store',
          credentials: 'same-origin',
        });
        if (response.status === 401) {
          this.leave();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        if (this.controller !== controller) return;
        this.byeReason = null; // an answer after `bye` is the next start
        this.heard();
        await this.read(response.body, controller);
      } catch (error) {
        // A refused connection, a cut, or our own cut(): all reconnect the same way.
      }
      if (this.controller === controller) {
        this.controller = null;
        this.lost('lost');
      }
    },

    async read(body, controller) {
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      const split = blockSplitter();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.controller !== controller) return;
        if (this.deaf === controller) continue; // basis.silence(): as if nothing arrived
        this.attemptAt = Date.now(); // bytes arrive: a long snapshot is not a silence
        for (const text of split(value)) {
          this.block(text);
          if (this.controller !== controller) return; // the block ended this connection
        }
      }
    },

    block(text) {
      let kind = 'message';
      let id = null;
      let comment = false;
      const data = [];
      for (const row of text.split('\n')) {
        if (row === '') continue;
        if (row.startsWith(':')) {
          comment = true; // the keep-alive
          continue;
        }
        const colon = row.indexOf(':');
        const field = colon < 0 ? row : row.slice(0, colon);
        let value = colon < 0 ? '' : row.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') kind = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
      }
      this.heard();
      if (!data.length) {
        if (comment) this.failures = 0; // a keep-alive: this connection works
        return;
      }
      if (kind === 'bye') {
        this.bye(data.join('\n'));
        return;
      }
      let applied = false;
      try {
        applied = onEvent(kind, id || '', data.join('\n'));
      } catch (error) {
        console.warn('basis: an event could not be applied; starting again from a snapshot', error);
      }
      if (applied) {
        if (id !== null) this.lastId = id;
        this.failures = 0;
      } else {
        this.resync();
      }
    },

    heard() {
      this.heardAt = this.attemptAt = Date.now();
      if (this.state !== 'live' && !this.byeReason) this.set('live');
    },

    bye(text) {
      let reason = null;
      try {
        reason = JSON.parse(text).reason;
      } catch (error) {
        // A bye is a bye whatever it says.
      }
      if (reason === 'signed out') {
        this.leave();
        return;
      }
      this.byeReason = reason || 'stopped';
      this.set('stopped');
    },

    // Signed out (a bye saying so, or a 401): the sign-in page, and no more connections.
    leave() {
      this.leaving = true;
      this.drop();
      location.assign('/login');
    },

    // What was applied cannot be followed from here: forget it and start from a snapshot.
    resync() {
      this.lastId = null;
      this.drop();
      this.lost('resync');
    },

    drop() {
      const controller = this.controller;
      this.controller = null;
      if (controller) controller.abort();
    },

    lost(cause) {
      if (this.leaving) return;
      this.failures += 1;
      const base = this.state === 'stopped' ? STOPPED_RETRY_MS : this.retryMs;
      const backoff = Math.min(base * 2 ** (this.failures - 1), MAX_RETRY_MS);
      const delay = Math.max(0, backoff - (cause === 'silent' ? basis.staleMs : 0)); // a silence is a wait
      if (this.state === 'stopped') {
        showConnection();
      } else if (this.state !== 'reconnecting') {
        this.cause = cause;
        this.set('reconnecting');
      } else {
        showConnection(); // the attempt count moved
      }
      setTimeout(() => this.connect(), delay);
    },

    set(state) {
      this.state = state;
      this.since = state === 'reconnecting' && this.cause === 'silent' && this.heardAt ? this.heardAt : Date.now();
      basis.connected = state === 'live';
      showConnection();
    },

    watch() {
      if (this.controller && Date.now() - this.attemptAt > basis.staleMs) this.cut('silent');
    },

    cut(cause = 'lost') {
      this.drop();
      this.lost(cause);
    },
  };

  function showConnection() {
    const badge = $('connection');
    const banner = $('banner');
    const at = stream.since ? utcTime(stream.since / 1000) + ' UTC' : '';
    const attempt = stream.failures > 1 ? ` (attempt ${stream.failures})` : '';
    const old = 'the figures below may be old';
    const reconnecting = {
      lost: `Reconnecting since ${at}${attempt}: ${old}.`,
      silent: `The instance has not answered since ${at}; reconnecting${attempt}: ${old}.`,
      resync: `Starting again from a fresh snapshot since ${at}${attempt} (an event could not be followed): ${old}.`,
    };
    const words = {
      connecting: ['connecting', ''],
      live: ['live', ''],
      reconnecting: [stream.cause === 'silent' ? 'not answering' : 'reconnecting', reconnecting[stream.cause]],
      stopped: ['stopped', `The instance stopped at ${at} (${stream.byeReason || 'stopped'}): this page comes back by itself when it starts again.`],
    }[stream.state];
    setText(badge, words[0]);
    const cause = stream.state === 'reconnecting' ? stream.cause : '';
    setAttr(badge, 'data-state', stream.state);
    setAttr(badge, 'data-cause', cause);
    setText(banner, words[1]);
    banner.hidden = !words[1];
    banner.dataset.state = stream.state;
    banner.dataset.cause = cause;
  }

  // ------------------------------------------------------------------ the charts
  const charts = new Map(); // symbol -> chart

  class Chart {
    constructor(symbol) {
      this.symbol = symbol;
      this.xs = [];
      this.ys = [];
      this.marks = []; // [ts, "entry"|"exit"]
      this.threshold = null;
      this.plot = null;
      this.dirty = true;
      this.visible = false;
      this.figure = el('figure', 'chart');
      this.figure.dataset.symbol = symbol;
      this.figure.append(el('figcaption', '', symbol));
      this.area = el('div', 'plot');
      this.figure.append(this.area);
    }

    // Points at most about one a second: a new point within a second of the one before
    // the last replaces the last one.
    add(ts, value) {
      if (typeof ts !== 'number') return;
      const xs = this.xs;
      const n = xs.length;
      const y = value === undefined ? null : value;
      if (n && ts < xs[n - 1]) return; // older than what is drawn: history is merged apart
      if (n >= 2 && ts < xs[n - 2] + 1) {
        xs[n - 1] = ts;
        this.ys[n - 1] = y;
      } else {
        xs.push(ts);
        this.ys.push(y);
      }
      this.trim(ts);
      this.dirty = true;
    }

    mark(ts, kind) {
      this.marks.push([ts, kind]);
      this.dirty = true;
    }

    merge(points, marks) {
      const first = this.xs.length ? this.xs[0] : Infinity;
      const older = points.filter((p) => p[0] < first);
      this.xs.unshift(...older.map((p) => p[0]));
      this.ys.unshift(...older.map((p) => p[1]));
      this.marks.push(...marks);
      this.marks.sort((a, b) => a[0] - b[0]);
      this.trim(this.xs.length ? this.xs[this.xs.length - 1] : Date.now() / 1000);
      this.dirty = true;
    }

    trim(now) {
      const cutoff = now - CHART_S;
      if (this.xs.length && this.xs[0] < cutoff - 60) {
        let i = 0;
        while (i < this.xs.length && this.xs[i] < cutoff) i += 1;
        this.xs.splice(0, i);
        this.ys.splice(0, i);
        this.marks = this.marks.filter((m) => m[0] >= cutoff);
      }
    }

    setThreshold(value) {
      if (value !== this.threshold) {
        this.threshold = value;
        this.dirty = true;
      }
    }

    draw() {
      if (!this.dirty || !this.visible || !window.uPlot) return;
      this.dirty = false;
      const width = Math.max(200, this.area.clientWidth);
      if (!this.plot) {
        this.plot = new window.uPlot(this.options(width), [this.xs, this.ys], this.area);
      } else {
        if (Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: 160 });
        this.plot.setData([this.xs, this.ys]);
      }
    }

    options(width) {
      const chart = this;
      return {
        width,
        height: 160,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          y: {
            range: (u, low, high) => {
              const t = chart.threshold;
              let lo = low === null || low === undefined ? (t ?? 0) : low;
              let hi = high === null || high === undefined ? (t ?? 1) : high;
              if (t !== null && t !== undefined) {
                lo = Math.min(lo, t);
                hi = Math.max(hi, t);
              }
              const pad = (hi - lo) * 0.1 || 0.1;
              return [lo - pad, hi + pad];
            },
          },
        },
        axes: [
          {
            stroke: '#667',
            space: 70,
            grid: { stroke: '#eef' },
            ticks: { stroke: '#dde' },
            // UTC, as every time on the page; seconds only where ticks are that close.
            values: (u, splits, axis, space, step) => splits.map((v) => (step < 60 ? utcTime(v) : utcTime(v).slice(0, 5))),
          },
          {
            stroke: '#667',
            size: 48,
            grid: { stroke: '#eef' },
            ticks: { stroke: '#dde' },
            values: (u, values) => values.map((v) => v.toFixed(2)),
          },
        ],
        series: [{}, { label: 'entry cost %', stroke: '#2563eb', width: 1.5, points: { show: false } }],
        hooks: { draw: [(u) => chart.overlay(u)] },
      };
    }

    // The threshold (dashed) and each entry (green) and exit (red), over the plot.
    overlay(u) {
      const ctx = u.ctx;
      const { left, top, width, height } = u.bbox;
      ctx.save();
      ctx.lineWidth = Math.max(1, window.devicePixelRatio || 1);
      if (this.threshold !== null && this.threshold !== undefined) {
        const y = u.valToPos(this.threshold, 'y', true);
        ctx.strokeStyle = '#d97706';
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      const [x0, x1] = [u.scales.x.min, u.scales.x.max];
      for (const [ts, kind] of this.marks) {
        if (ts < x0 || ts > x1) continue;
        const x = u.valToPos(ts, 'x', true);
        ctx.strokeStyle = kind === 'entry' ? '#16a34a' : '#dc2626';
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      }
      ctx.restore();
    }
  }

  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const chart = charts.get(entry.target.dataset.symbol);
      if (chart) chart.visible = entry.isIntersecting;
      if (chart && chart.visible) chart.draw();
    }
  });

  function chartOf(symbol) {
    let chart = charts.get(symbol);
    if (!chart) {
      chart = new Chart(symbol);
      charts.set(symbol, chart);
      // In the symbols' order: before the first chart of a later symbol.
      const later = [...$('charts').children].find((figure) => figure.dataset.symbol > symbol);
      $('charts').insertBefore(chart.figure, later || null);
      seen.observe(chart.figure);
    }
    return chart;
  }

  async function loadHistory() {
    try {
      const response = await fetch('/api/history?minutes=60', { cache: 'no-store', credentials: 'same-origin' });
      if (response.status === 401) {
        location.assign('/login');
        return;
      }
      if (!response.ok) return;
      const history = await response.json();
      const marks = {};
      for (const m of history.marks || []) (marks[m.symbol] ||= []).push([m.ts, m.kind]);
      const series = history.series || {};
      const symbols = new Set([...Object.keys(series), ...Object.keys(marks)]);
      for (const symbol of symbols) chartOf(symbol).merge(series[symbol] || [], marks[symbol] || []);
    } catch (error) {
      // The live points still draw; the history comes with the next load.
    }
  }

  let resizing = null;
  new ResizeObserver(() => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const chart of charts.values()) chart.dirty = true;
    }, 200);
  }).observe($('charts'));

  setInterval(() => {
    for (const chart of charts.values()) chart.draw();
  }, CHART_EVERY_MS);

  // ----------------------------------------------------------------- rendering
  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  function render() {
    renderQueued = false;
    if (!model) return;
    const all = dirty.all;
    if (all || dirty.health) renderHealth();
    if (all || dirty.totals) renderTotals();
    if (all || dirty.tasks.size || dirty.health) renderTasks();
    if (all || dirty.orders) renderOrders();
    if (all || dirty.fills) renderFills();
    if (all || dirty.alerts || dirty.health) renderAlerts();
    if (all || dirty.tasks.size || dirty.health) renderAdd();
    dirty.all = dirty.health = dirty.totals = dirty.orders = dirty.fills = dirty.alerts = false;
    dirty.tasks.clear();
  }

  function renderHealth() {
    setText($('mode'), model.mode);
    setText($('instance'), model.instance ? `instance ${model.instance}` : '');
    const strip = $('health');
    const items = [{ key: 'health' }];
    for (const feed of model.feeds || []) items.push({ key: 'feed:' + feed.name, feed });
    for (const router of model.routers || []) items.push({ key: 'router:' + router.name, router });
    if (model.persistence) items.push({ key: 'writer' });
    if (model.risk) items.push({ key: 'risk' });
    if (model.alerts) items.push({ key: 'alerts' });
    for (const other of model.other_instances || []) items.push({ key: 'other:' + JSON.stringify(other), other });
    keyed(strip, items, (item) => item.key, createHealthChip, updateHealthChip);
    setText($('health-reason'), model.health === 'ok' ? '' : model.health_reason);
    renderRisk();
    renderQuarantine();
    renderTree();
  }

  function createHealthChip(item) {
    const node = el('span', 'chip');
    node.append(el('b', '', ''), el('span', 'state', ''));
    if (item.feed) {
      const path = `feeds.${item.feed.name}`;
      node.nums = { age: num(`${path}.last_data_age_s`, 1, 's') };
      node.append(el('span', 'sep', ' · data '), node.nums.age);
    } else if (item.router) {
      const path = `routers.${item.router.name}`;
      node.nums = { open: num(`${path}.open_orders`, 0, ''), rejected: num(`${path}.rejected`, 0, '') };
      node.append(el('span', 'sep', ' · open '), node.nums.open, el('span', 'sep', ' · rejected '), node.nums.rejected);
    } else if (item.key === 'writer') {
      node.nums = { queue: num('persistence.queue_depth', 0, ''), quarantined: num('persistence.quarantined', 0, '') };
      node.append(el('span', 'sep', ' · queue '), node.nums.queue, el('span', 'sep', ' · quarantined '), node.nums.quarantined);
    } else if (item.key === 'alerts') {
      node.nums = { pending: num('alerts.pending', 0, ''), failed: num('alerts.failed', 0, '') };
      node.append(el('span', 'sep', ' · pending '), node.nums.pending, el('span', 'sep', ' · failed '), node.nums.failed);
    }
    return node;
  }

  function updateHealthChip(node, item) {
    const [name, state] = node.children;
    let level = 'ok';
    if (item.key === 'health') {
      setText(name, 'health ');
      setText(state, model.health);
      level = model.health;
    } else if (item.feed) {
      setText(name, item.feed.name + ' ');
      setText(state, item.feed.state);
      level = item.feed.state === 'fresh' ? 'ok' : 'failing';
      setNum(node.nums.age, item.feed.last_data_age_s);
      node.title = item.feed.detail || '';
    } else if (item.router) {
      const up = item.router.private_stream_up;
      setText(name, item.router.name + ' ');
      setText(state, up ? 'stream up' : 'stream down');
      level = up ? 'ok' : 'failing';
      setNum(node.nums.open, item.router.open_orders);
      setNum(node.nums.rejected, item.router.rejected);
      node.title = item.router.private_stream_down || '';
    } else if (item.key === 'writer') {
      const p = model.persistence;
      setText(name, 'writer ');
      setText(state, p.failing ? 'failing' : 'ok');
      level = p.failing ? 'failing' : p.quarantined ? 'degraded' : 'ok';
      setNum(node.nums.queue, p.queue_depth);
      setNum(node.nums.quarantined, p.quarantined);
      node.title = p.failing || '';
    } else if (item.key === 'risk') {
      setText(name, 'risk ');
      setText(state, model.risk.mode);
      level = model.risk.mode === 'active' ? 'ok' : model.risk.mode === 'reducing' ? 'degraded' : 'failing';
    } else if (item.key === 'alerts') {
      const open = model.alerts.open_incidents.length;
      setText(name, 'alerts ');
      setText(state, open ? `${open} open` : 'none open');
      level = open ? 'degraded' : 'ok';
      setNum(node.nums.pending, model.alerts.pending);
      setNum(node.nums.failed, model.alerts.failed);
    } else if (item.other) {
      setText(name, 'other instance ');
      setText(state, JSON.stringify(item.other));
      level = 'degraded';
    }
    setAttr(node, 'data-level', level);
  }

  const TOTALS = [
    ['realized_pnl_usdt', 'Realised P&L', 2, 'USDT'],
    ['unrealized_pnl_usdt', 'Unrealised P&L', 2, 'USDT'],
    ['total_pnl_usdt', 'Total P&L', 2, 'USDT'],
    ['fees_usdt', 'Fees', 4, 'USDT'],
    ['funding_usdt', 'Funding', 4, 'USDT'],
    ['volume_usdt', 'Volume', 2, 'USDT'],
    ['open_positions', 'Open positions', 0, ''],
  ];

  function figure(label, span) {
    const node = el('div', 'figure');
    node.append(el('span', 'label', label), span);
    return node;
  }

  const totalSpans = {};
  function renderTotals() {
    const box = $('totals');
    if (!box.children.length) {
      for (const [field, label, decimals, unit] of TOTALS) {
        totalSpans[field] = num(`totals.${field}`, decimals, unit);
        box.append(figure(label, totalSpans[field]));
      }
    }
    for (const [field] of TOTALS) setNum(totalSpans[field], model.totals ? model.totals[field] : null);
  }

  // ------------------------------------------------------------------ task cards
  function baseOf(symbol) {
    return (symbol || '').split('/')[0];
  }

  function createTaskCard(task, taskId) {
    const card = el('article', 'card');
    card.dataset.taskId = taskId;
    const p = (field) => `tasks.${taskId}.${field}`;
    const base = baseOf(task.symbol);
    const n = {};
    const add = (field, decimals, unit) => (n[field] = num(p(field), decimals, unit));
    const head = el('header', 'card-head');
    const title = el('h3', '', task.symbol);
    const state = el('span', 'state-badge', '');
    const action = el('button', 'small', '');
    action.type = 'button';
    action.addEventListener('click', () => {
      const current = taskOf(taskId);
      if (current) pauseOrResume(current);
    });
    head.append(title, state, action);
    const note = el('p', 'note', '');
    const held = el('span', 'derived', '');
    card.append(
      head,
      note,
      line('Spot', add('position_qty', 6, base), add('spot_avg_price', 2, 'USDT'), add('spot_notional_usdt', 2, 'USDT')),
      line('Futures short', add('futures_qty', 6, base), add('futures_avg_price', 2, 'USDT'), add('futures_notional_usdt', 2, 'USDT')),
      line('Net delta', add('net_delta_qty', 6, base), add('net_delta_usdt', 2, 'USDT')),
      line('Spot bid / ask', add('spot_bid', 2, ''), add('spot_ask', 2, '')),
      line('Futures bid / ask', add('futures_bid', 2, ''), add('futures_ask', 2, '')),
      line('Entry cost', add('entry_cost_pct', 3, '%'), labelled('max', add('max_entry_cost_pct', 3, '%'))),
      line('P&L now', add('pnl_pct', 3, '%'), labelled('exit at', add('min_profit_pct', 3, '%'))),
      line('Realised', add('realized_pnl_usdt', 4, 'USDT')),
      line('Unrealised', add('unrealized_pnl_usdt', 4, 'USDT')),
      line('Total', add('total_pnl_usdt', 4, 'USDT')),
      line('Fees / funding', labelled('fees', add('fees_usdt', 4, 'USDT')), labelled('funding', add('funding_usdt', 4, 'USDT'))),
      line('Held', labelled('since', add('position_opened_at', 0, 'time')), held, labelled('max', add('max_hours', 1, 'h'))),
      line('Next funding', add('funding_rate', 4, 'rate%'), labelled('at', add('funding_next_ts', 0, 'time'))),
      line('Cycles', add('cycles', 0, ''), labelled('volume', add('total_volume_usdt', 2, 'USDT')), labelled('restarts', add('restarts', 0, ''))),
    );
    card.refs = { title, state, action, note, held, n };
    return card;
  }

  function labelled(label, span) {
    const node = el('span', 'labelled');
    node.append(el('span', 'label', label + ' '), span);
    return node;
  }

  const PRICE_FIELDS = new Set(['spot_avg_price', 'futures_avg_price', ...QUOTE_FIELDS]);

  function updateTaskCard(card, task) {
    const { state, action, note, held, n } = card.refs;
    setText(state, task.state);
    setAttr(state, 'data-state', task.state || '');
    setAttr(card, 'data-state', task.state || '');
    const stopped = task.state === 'stopped';
    action.hidden = stopped;
    setText(action, task.paused_reason ? 'Resume' : 'Pause');
    const notes = [task.paused_reason, task.last_error && `error: ${task.last_error}`, task.last_skip_reason && `skipped: ${task.last_skip_reason}`];
    setText(note, notes.filter(Boolean).join(' · '));
    note.hidden = !note.textContent;
    for (const [field, span] of Object.entries(n)) {
      const value = task[field] === undefined ? null : task[field];
      setNum(span, value, PRICE_FIELDS.has(field) ? priceDecimals(value) : undefined);
    }
    setText(held, heldText(task));
    if (!stopped) chartOf(task.symbol).setThreshold(task.max_entry_cost_pct ?? null);
  }

  function heldText(task) {
    return task.position_opened_at ? `held ${ago(task.position_opened_at)}` : 'flat';
  }

  function renderTasks() {
    const ids = dirty.all || dirty.health ? null : dirty.tasks;
    const box = $('tasks');
    if (ids && [...ids].every((id) => taskIndex.has(id) && box.querySelector(`[data-task-id="${CSS.escape(id)}"]`))) {
      // Only these tasks changed and all are drawn already: update them alone.
      for (const card of box.children) {
        if (ids.has(card.dataset.taskId)) updateTaskCard(card, taskIndex.get(card.dataset.taskId));
      }
    } else {
      keyed(box, model.tasks, (t) => t.task_id, createTaskCard, updateTaskCard);
    }
    $('no-tasks').hidden = model.tasks.length > 0;
  }

  // Held times move with the clock, not with events.
  setInterval(() => {
    for (const card of $('tasks').children) {
      const task = taskIndex.get(card.dataset.taskId);
      if (task) setText(card.refs.held, heldText(task));
    }
  }, 1000);

  setInterval(() => stream.watch(), WATCH_MS);

  // ------------------------------------------------------------------ orders, fills
  function cells(row, values) {
    for (const value of values) {
      const cell = el('td');
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value;
      row.append(cell);
    }
  }

  function renderOrders() {
    const orders = [];
    for (const task of model.tasks) for (const order of task.orders || []) orders.push([task, order]);
    keyed(
      $('orders').tBodies[0],
      orders,
      ([task, order]) => `${task.task_id}/${order.client_id}`,
      ([task, order]) => {
        const row = el('tr');
        row.dataset.clientId = order.client_id;
        const p = `tasks.${task.task_id}.orders.${order.client_id}`;
        const base = baseOf(task.symbol);
        row.n = {
          qty: num(`${p}.qty`, 6, base),
          filled_qty: num(`${p}.filled_qty`, 6, base),
          price: num(`${p}.price`, 2, ''),
          avg_price: num(`${p}.avg_price`, 2, ''),
          created_ts: num(`${p}.created_ts`, 0, 'time'),
        };
        row.status = el('span');
        cells(row, [task.symbol, order.leg, order.side, row.n.qty, row.n.filled_qty, row.n.price, row.n.avg_price, row.status, row.n.created_ts]);
        return row;
      },
      (row, [, order]) => {
        for (const [field, span] of Object.entries(row.n)) {
          const price = field === 'price' || field === 'avg_price';
          setNum(span, order[field], price ? priceDecimals(order[field]) : undefined);
        }
        setText(row.status, order.status);
      },
    );
    $('no-orders').hidden = orders.length > 0;
  }

  function renderFills() {
    const fills = model.recent_fills.slice().reverse(); // the newest first
    keyed(
      $('fills').tBodies[0],
      fills,
      (fill) => fill.fill_id,
      (fill) => {
        const row = el('tr');
        row.dataset.fillId = fill.fill_id;
        const p = `recent_fills.${fill.fill_id}`;
        const spans = [
          num(`${p}.ts`, 0, 'time'),
          num(`${p}.qty`, 6, baseOf(fill.symbol)),
          num(`${p}.price`, priceDecimals(fill.price), ''),
          num(`${p}.fee_usdt`, 4, 'USDT'),
        ];
        setNum(spans[0], fill.ts);
        setNum(spans[1], fill.qty);
        setNum(spans[2], fill.price);
        setNum(spans[3], fill.fee_usdt);
        const side = el('span', 'side ' + fill.side, fill.side);
        cells(row, [spans[0], fill.symbol, fill.leg, side, spans[1], spans[2], spans[3], fill.role]);
        return row;
      },
      () => {}, // a fill never changes
    );
    $('no-fills').hidden = fills.length > 0;
  }

  // ------------------------------------------------------------------ alerts
  const alertSpans = {};
  function renderAlerts() {
    const alerts = model.alerts;
    const figures = $('alert-figures');
    if (!alerts) {
      figures.replaceChildren();
      $('incidents').replaceChildren();
      $('alerts').replaceChildren();
      $('no-alerts').hidden = false;
      return;
    }
    if (!figures.children.length) {
      for (const [field, label] of [['pending', 'Pending'], ['delivered', 'Delivered'], ['failed', 'Failed']]) {
        alertSpans[field] = num(`alerts.${field}`, 0, '');
        figures.append(figure(label, alertSpans[field]));
      }
    }
    for (const field of Object.keys(alertSpans)) setNum(alertSpans[field], alerts[field]);
    keyed(
      $('incidents'),
      alerts.open_incidents || [],
      (incident) => incident.key,
      () => el('li'),
      (item, incident) => {
        setText(item, `open: ${incident.title}`);
        setAttr(item, 'data-severity', incident.severity);
      },
    );
    const recent = (alerts.recent || []).slice().reverse();
    keyed(
      $('alerts'),
      recent,
      (alert) => alert.id,
      (alert) => {
        const item = el('li');
        item.dataset.severity = alert.severity;
        const at = num(`alerts.recent.${alert.id}.ts`, 0, 'time');
        setNum(at, alert.ts);
        item.append(at, el('b', '', ` ${alert.kind} ${alert.title}`));
        if (alert.detail) item.append(el('p', 'muted', alert.detail));
        return item;
      },
      () => {},
    );
    $('no-alerts').hidden = recent.length > 0 || (alerts.open_incidents || []).length > 0;
  }

  // ------------------------------------------------------------------ risk, tree
  const riskSpans = {};
  function renderRisk() {
    const risk = model.risk;
    const box = $('risk');
    if (!risk) {
      box.replaceChildren(el('span', 'muted', 'This instance runs no risk actor.'));
      return;
    }
    if (!riskSpans.pnl_usdt) {
      box.replaceChildren();
      riskSpans.mode = el('span', 'mode-badge');
      box.append(figure('Mode', riskSpans.mode));
      for (const [field, label] of [['pnl_usdt', 'P&L'], ['high_water_usdt', 'High water']]) {
        riskSpans[field] = num(`risk.${field}`, 2, 'USDT');
        box.append(figure(label, riskSpans[field]));
      }
      riskSpans.since = num('risk.since', 0, 'time');
      box.append(figure('Since', riskSpans.since));
    }
    setText(riskSpans.mode, risk.mode);
    setAttr(riskSpans.mode, 'data-mode', risk.mode);
    setNum(riskSpans.pnl_usdt, risk.pnl_usdt);
    setNum(riskSpans.high_water_usdt, risk.high_water_usdt);
    setNum(riskSpans.since, risk.since);
    const tripped = risk.stop_tripped ? ` · stop tripped: ${risk.stop_tripped}` : '';
    setText($('risk-reason'), `${risk.reason} (set by ${risk.set_by})${tripped}`);
    keyed(
      $('caps').tBodies[0],
      risk.caps || [],
      (cap) => cap.cap,
      (cap) => {
        const row = el('tr');
        row.n = { used: num(`risk.caps.${cap.cap}.used_usdt`, 2, 'USDT'), limit: num(`risk.caps.${cap.cap}.limit_usdt`, 2, 'USDT') };
        cells(row, [cap.cap, row.n.used, row.n.limit]);
        return row;
      },
      (row, cap) => {
        setNum(row.n.used, cap.used_usdt);
        setNum(row.n.limit, cap.limit_usdt);
      },
    );
    const balances = [];
    for (const [kind, label] of [['spot_free_usdt', 'free'], ['futures_available_usdt', 'available']]) {
      for (const venue of Object.keys((risk.balances_read || {})[kind] || {}).sort()) {
        balances.push({ key: `${kind}.${venue}`, label: `${venue} ${label}`, value: risk.balances_read[kind][venue] });
      }
    }
    keyed(
      $('balances'),
      balances,
      (b) => b.key,
      (b) => {
        const node = figure(b.label, num(`risk.balances_read.${b.key}`, 2, 'USDT'));
        node.span = node.lastChild;
        return node;
      },
      (node, b) => setNum(node.span, b.value),
    );
    keyed(
      $('liquidation').tBodies[0],
      risk.liquidation || [],
      (l) => l.symbol,
      (l) => {
        const row = el('tr');
        const p = `risk.liquidation.${l.symbol}`;
        row.n = { mark_price: num(`${p}.mark_price`, 2, ''), liq_price: num(`${p}.liq_price`, 2, ''), distance_pct: num(`${p}.distance_pct`, 2, '%') };
        cells(row, [l.symbol, row.n.mark_price, row.n.liq_price, row.n.distance_pct]);
        return row;
      },
      (row, l) => {
        setNum(row.n.mark_price, l.mark_price, priceDecimals(l.mark_price));
        setNum(row.n.liq_price, l.liq_price, priceDecimals(l.liq_price));
        setNum(row.n.distance_pct, l.distance_pct);
      },
    );
  }

  let treeDrawn = '';
  function renderTree() {
    // Drawn again only when what it shows changed (not its uptimes and mailbox counts).
    const shown = (node) => [node.name, node.state, node.restarts, node.restarts_in_window, node.give_ups, node.last_error, (node.children || []).map(shown), node.subtree ? shown(node.subtree) : null];
    const signature = JSON.stringify(model.tree ? shown(model.tree) : null);
    if (signature === treeDrawn) return;
    treeDrawn = signature;
    const box = $('tree');
    if (!model.tree) {
      box.replaceChildren();
      return;
    }
    const supervisor = (tree, path) => {
      const list = el('ul');
      for (const child of tree.children || []) {
        const item = el('li');
        const here = `${path}.children.${child.name}`;
        const restarts = num(`${here}.restarts`, 0, '');
        setNum(restarts, child.restarts);
        const state = el('span', 'state', child.state);
        state.dataset.state = child.state;
        item.append(el('b', '', child.name + ' '), state, el('span', 'sep', ' · restarts '), restarts);
        if (child.last_error) item.append(el('p', 'muted', child.last_error));
        if (child.subtree) item.append(supervisor(child.subtree, `${here}.subtree`));
        list.append(item);
      }
      return list;
    };
    const root = el('div');
    const gaveUp = num('tree.give_ups', 0, '');
    setNum(gaveUp, model.tree.give_ups);
    const state = el('span', 'state', model.tree.state);
    state.dataset.state = model.tree.state;
    root.append(el('b', '', model.tree.name + ' '), state, el('span', 'sep', ' · gave up '), gaveUp);
    root.append(supervisor(model.tree, 'tree'));
    box.replaceChildren(root);
  }

  // ------------------------------------------------------------------ quarantine, add
  function renderQuarantine() {
    const held = model.quarantined_symbols || [];
    keyed(
      $('quarantine'),
      held,
      (q) => q.symbol,
      (q) => {
        const item = el('li');
        item.dataset.symbol = q.symbol;
        item.append(el('b', '', q.symbol), el('p', 'muted', ''));
        const since = num(`quarantined_symbols.${q.symbol}.since`, 0, 'time');
        item.append(labelled('since', since));
        item.since = since;
        const buttons = el('div', 'controls');
        for (const how of ['adopt', 'flatten', 'forget']) {
          const button = el('button', 'small', how);
          button.type = 'button';
          button.dataset.resolve = how;
          button.addEventListener('click', () => resolveQuarantine(q.symbol, how));
          buttons.append(button);
        }
        item.append(buttons);
        return item;
      },
      (item, q) => {
        setText(item.children[1], `task ${q.task_id}: ${q.reason}`);
        setNum(item.since, q.since);
      },
    );
    $('no-quarantine').hidden = held.length > 0;
  }

  function renderAdd() {
    const live = new Set(model.tasks.filter((t) => t.state !== 'stopped').map((t) => t.symbol));
    const held = new Set((model.quarantined_symbols || []).map((q) => q.symbol));
    const free = (model.symbols || []).filter((s) => !live.has(s) && !held.has(s));
    const select = $('add-form').elements.symbol;
    keyed(select, free, (s) => s, (s) => el('option', '', s), (option, s) => (option.value = s));
    $('add-form').hidden = free.length === 0;
    $('no-add').hidden = free.length > 0;
  }

  // ------------------------------------------------------------------ controls
  // Each control says exactly what will happen, asks, and shows the instance's answer.
  const dialog = $('confirm');
  let pending = null;

  function ask(title, text, action, body) {
    pending = { action, body };
    setText($('confirm-title'), title);
    setText($('confirm-text'), text);
    $('confirm-answer').hidden = true;
    $('confirm-ok').hidden = false;
    $('confirm-ok').disabled = false;
    setText($('confirm-cancel'), 'Cancel');
    dialog.showModal();
  }

  $('confirm-ok').addEventListener('click', async (event) => {
    event.preventDefault();
    if (!pending) return;
    const { action, body } = pending;
    pending = null;
    $('confirm-ok').disabled = true;
    const answer = $('confirm-answer');
    answer.hidden = false;
    answer.dataset.outcome = 'waiting';
    setText(answer, 'sent; waiting for the answer…');
    let outcome = 'error';
    let text;
    try {
      const response = await fetch(`/api/control/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...body, confirmed: true }),
        credentials: 'same-origin',
      });
      if (response.status === 401) {
        location.assign('/login');
        return;
      }
      const reply = await response.json().catch(() => ({}));
      if (response.ok) {
        outcome = 'done';
        text = reply.result;
      } else {
        text = `refused: ${reply.error || `HTTP ${response.status}`}`;
      }
    } catch (error) {
      text = `not sent: the instance did not answer (${error.message})`;
    }
    answer.dataset.outcome = outcome;
    setText(answer, text);
    $('confirm-ok').hidden = true;
    setText($('confirm-cancel'), 'Close');
  });

  function pauseOrResume(task) {
    const symbol = task.symbol;
    if (task.paused_reason) {
      ask(`Resume ${symbol}?`, `The strategy for ${symbol} may enter again when the entry cost allows.`, 'resume', { symbol });
    } else {
      ask(
        `Pause ${symbol}?`,
        `The strategy for ${symbol} takes no new entry until resumed. An open position is kept, and its exit goes on by the strategy's rules.`,
        'pause',
        { symbol },
      );
    }
  }

  const RESOLUTIONS = {
    adopt: (s) => `The record of ${s} takes the position the venues hold now, and its strategy starts trading it at once.`,
    flatten: (s) => `Both legs of ${s} are unwound through the strategy's own exit and its record is closed; ${s} then rests until the next start.`,
    forget: (s) => `The record of ${s} is dropped and the venues are left untouched (close any position there by hand); a new strategy starts trading ${s} at once.`,
  };

  function resolveQuarantine(symbol, how) {
    ask(`Resolve ${symbol}: ${how}?`, RESOLUTIONS[how](symbol), 'resolve', { symbol, how });
  }

  const RISK_MODES = {
    active: 'Entries are allowed again; a tripped stop is lifted.',
    reducing: 'No new entries on any symbol; exits and corrections go on.',
    halted: 'Nothing new is placed on any symbol, exits included, and orders in flight are cancelled.',
  };

  $('risk-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const mode = form.mode.value;
    const reason = form.reason.value.trim() || null;
    const why = reason ? ` Reason for the log: “${reason}”.` : '';
    ask(`Set the risk mode to ${mode}?`, RISK_MODES[mode] + why, 'risk', { mode, reason });
  });

  $('add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const symbol = event.target.elements.symbol.value;
    if (!symbol) return;
    ask(`Add a strategy for ${symbol}?`, `A strategy starts trading ${symbol} with this instance's strategy settings: it enters when the entry cost allows.`, 'add', { symbol });
  });

  const GLOBAL = {
    'pause-all': ['Pause every symbol?', 'No strategy takes a new entry until resumed. Open positions are kept, and their exits go on by the strategies\u2019 rules.', 'pause', { symbol: null }],
    'resume-all': ['Resume every symbol?', 'Every strategy may enter again when the entry cost allows.', 'resume', { symbol: null }],
    stop: ['Stop the instance?', 'Every strategy stops and the instance exits. Open positions are kept at the venues as they are, and the next start restores them.', 'stop', { flatten: false }],
    'stop-flatten': ['Stop the instance after unwinding every position?', 'Every strategy unwinds its position (sells its spot, buys back its futures short), and once all are flat the instance exits. Refused while the risk mode is halted.', 'stop', { flatten: true }],
  };
  for (const button of document.querySelectorAll('[data-control]')) {
    button.addEventListener('click', () => ask(...GLOBAL[button.dataset.control]));
  }

  // ------------------------------------------------------------------ start
  showConnection();
  loadHistory();
  stream.connect();
})();
