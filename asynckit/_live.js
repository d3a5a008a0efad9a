// A Timeline drawn while it records. The kernel sends what is new about every 100 ms (see
// asynckit/_live.py); this draws it on a canvas the way asynckit's static plot does: one row
// per task (spans packed into lanes past 40 tasks), one colour per kind, time in seconds.
// A span that has started but not ended is drawn up to the kernel's latest "now", so when the
// event loop is blocked and sends nothing, every bar stops at once.

const MAX_ROWS = 40;
const BAR = 0.7;
const DPI_ROW = 28; // pixels per row, as the static plot's 0.28 inch at 100 dpi
const STATE_COLOURS = { 1: "#C44E52", 2: "#4D4D4D" }; // failed, cancelled
const LAG = "#C44E52";

export function newState() {
  return {
    now: 0,
    rows: [],
    kinds: [], // [name, colour]
    start: [],
    end: [], // NaN while a span runs
    row: [],
    kind: [],
    state: [],
    open: new Map(), // "row:start" -> index of a span that runs
    lag: [],
    hasLag: false,
    done: false,
    batches: 0,
  };
}

function floats(buffer) {
  if (!buffer) return new Float64Array(0);
  const view = buffer instanceof DataView ? buffer : new DataView(buffer.buffer || buffer);
  const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  return new Float64Array(bytes);
}

/** Add one batch from the kernel to the state. */
export function ingest(s, content, buffers) {
  s.now = Math.max(s.now, content.now);
  for (const name of content.rows) s.rows.push(name);
  for (const kind of content.kinds) s.kinds.push(kind);
  const started = floats(buffers[0]);
  for (let i = 0; i + 2 < started.length; i += 3) {
    const index = s.start.length;
    s.kind.push(started[i]);
    s.start.push(started[i + 1]);
    s.row.push(started[i + 2]);
    s.end.push(NaN);
    s.state.push(0);
    s.open.set(started[i + 2] + ":" + started[i + 1], index);
  }
  const ended = floats(buffers[1]);
  for (let i = 0; i + 4 < ended.length; i += 5) {
    const key = ended[i + 2] + ":" + ended[i];
    let index = s.open.get(key);
    if (index === undefined) {
      index = s.start.length; // a span nobody saw start: add it whole
      s.start.push(ended[i]);
      s.row.push(ended[i + 2]);
      s.kind.push(ended[i + 3]);
      s.end.push(NaN);
      s.state.push(0);
    } else {
      s.open.delete(key);
    }
    s.end[index] = ended[i + 1];
    s.state[index] = ended[i + 4];
  }
  for (let i = 0; i + 1 < content.lag.length; i += 2) {
    s.lag.push([content.lag[i], content.lag[i + 1]]);
  }
  s.hasLag = s.hasLag || content.has_lag;
  s.done = s.done || !!content.done;
  s.batches += 1;
}

/** Which row each span goes in: its task's, or past MAX_ROWS tasks, the first free lane. */
function layOut(s) {
  const n = s.start.length;
  if (s.rows.length <= MAX_ROWS) {
    return { rowOf: s.row, names: s.rows.slice(), count: s.rows.length, lanes: false };
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s.start[a] - s.start[b]);
  const rowOf = new Array(n);
  const heap = []; // [end, lane], smallest end on top
  let lanes = 0;
  for (const i of order) {
    let lane;
    if (heap.length && heap[0][0] <= s.start[i]) lane = pop(heap)[1];
    else lane = lanes++;
    push(heap, [isNaN(s.end[i]) ? Infinity : s.end[i], lane]);
    rowOf[i] = lane;
  }
  return { rowOf, names: [], count: lanes, lanes: true };
}

function push(heap, item) {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (less(heap[p], heap[i])) break;
    [heap[p], heap[i]] = [heap[i], heap[p]];
    i = p;
  }
}

function pop(heap) {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[m], heap[i]] = [heap[i], heap[m]];
      i = m;
    }
  }
  return top;
}

function less(a, b) {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function darker(hex) {
  const v = parseInt(hex.slice(1), 16);
  const c = [(v >> 16) & 255, (v >> 8) & 255, v & 255].map((x) => Math.round(x * 0.6));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function niceStep(span, target) {
  const raw = span / target;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function secondsText(v) {
  return v < 1 ? `${+(v * 1000).toPrecision(3)} ms` : `${v.toFixed(2)} s`;
}

/** Draw the state on the canvas; returns how many milliseconds it took. */
export function draw(canvas, s, title) {
  const began = performance.now();
  const layout = layOut(s);
  const rowCount = layout.count + (s.hasLag ? 1 : 0);
  const width = Math.max(canvas.parentElement ? canvas.parentElement.clientWidth : 0, 600);
  const cssWidth = Math.min(width, 900);
  const cssHeight = Math.min(140 + DPI_ROW * Math.max(rowCount, 1), 700);
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
    canvas.style.width = cssWidth + "px";
    canvas.style.height = cssHeight + "px";
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, cssWidth, cssHeight);
  ctx.font = "11px sans-serif";

  const names = layout.names.slice();
  if (s.hasLag) {
    const worst = s.lag.reduce((m, p) => Math.max(m, p[1]), 0);
    names.push(`loop lag (max ${Math.round(worst * 1000)} ms)`);
  }
  let left = 60;
  if (!layout.lanes) {
    for (const name of names) left = Math.max(left, ctx.measureText(name).width + 14);
  } else if (s.hasLag) {
    left = Math.max(left, ctx.measureText(names[names.length - 1]).width + 14);
  }
  left = Math.min(left, 220);
  const top = 34;
  const bottom = 40;
  const right = 12;
  const plotW = cssWidth - left - right;
  const plotH = cssHeight - top - bottom;
  let end = s.now;
  for (const e of s.end) if (e > end) end = e;
  const xmax = end > 0 ? end * 1.02 : 1.0;
  const x = (t) => left + (t / xmax) * plotW;
  const rowH = plotH / Math.max(rowCount, 1);
  const y = (r) => top + (r + 0.5) * rowH;

  // grid and time axis
  const step = niceStep(xmax, 8);
  ctx.strokeStyle = "rgba(176,176,176,0.6)";
  ctx.fillStyle = "black";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.lineWidth = 1;
  for (let t = 0; t <= xmax + 1e-12; t += step) {
    const px = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, top + plotH);
    ctx.stroke();
    ctx.fillText(+t.toPrecision(6) + "", px, top + plotH + 5);
  }
  ctx.fillText("time (s)", left + plotW / 2, top + plotH + 22);

  // spans, one path per kind (task lifetimes behind the rest), and their outcome on top
  const order = s.kinds.map((_, k) => k).sort((a, b) => (s.kinds[b][0] === "task") - (s.kinds[a][0] === "task"));
  const n = s.start.length;
  for (const k of order) {
    const [name, colour] = s.kinds[k];
    const h = (name === "task" ? 0.92 : BAR) * rowH;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (s.kind[i] !== k) continue;
      const e = isNaN(s.end[i]) ? s.now : s.end[i];
      const x0 = x(s.start[i]);
      ctx.rect(x0, y(layout.rowOf[i]) - h / 2, Math.max(x(e) - x0, 0.5), h);
    }
    ctx.fillStyle = colour;
    ctx.fill();
    ctx.strokeStyle = darker(colour);
    ctx.lineWidth = 0.6;
    ctx.stroke();
  }
  for (const state of [1, 2]) {
    ctx.beginPath();
    let any = false;
    for (let i = 0; i < n; i++) {
      if (s.state[i] !== state) continue;
      any = true;
      const x0 = x(s.start[i]);
      const h = BAR * rowH;
      ctx.rect(x0, y(layout.rowOf[i]) - h / 2, Math.max(x(s.end[i]) - x0, 0.5), h);
    }
    if (any) {
      ctx.strokeStyle = STATE_COLOURS[state];
      ctx.lineWidth = 1.2;
      ctx.stroke();
    }
  }

  // loop lag, as steps in its own row
  if (s.hasLag && s.lag.length) {
    const worst = Math.max(s.lag.reduce((m, p) => Math.max(m, p[1]), 0), 0.02);
    const base = y(layout.count) + 0.45 * rowH;
    ctx.beginPath();
    ctx.moveTo(x(0), base);
    let previous = x(0);
    for (const [t, late] of s.lag) {
      const py = base - (0.9 * rowH * late) / worst;
      ctx.lineTo(previous, py);
      ctx.lineTo(x(t), py);
      previous = x(t);
    }
    ctx.strokeStyle = LAG;
    ctx.lineWidth = 1;
    ctx.stroke();
  }

  // the "now" line, while recording
  if (!s.done) {
    ctx.strokeStyle = "rgba(0,0,0,0.35)";
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(Math.round(x(s.now)) + 0.5, top);
    ctx.lineTo(Math.round(x(s.now)) + 0.5, top + plotH);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  // frame and row names
  ctx.strokeStyle = "black";
  ctx.lineWidth = 0.8;
  ctx.strokeRect(left + 0.5, top + 0.5, plotW, plotH);
  ctx.fillStyle = "black";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  if (!layout.lanes) {
    names.forEach((name, r) => ctx.fillText(name, left - 6, y(r)));
  } else {
    if (s.hasLag) ctx.fillText(names[names.length - 1], left - 6, y(layout.count));
    ctx.save();
    ctx.translate(14, top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(`${n} spans in ${rowCount} rows`, 0, 0);
    ctx.restore();
  }

  // title and legend on the line above
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.font = "12px sans-serif";
  const running = n - s.end.filter((e) => !isNaN(e)).length;
  const status = s.done ? "done" : `recording: ${secondsText(s.now)}, ${n} spans, ${running} running`;
  ctx.fillText((title ? title + " · " : "") + status, left, 14);
  ctx.font = "10px sans-serif";
  let lx = cssWidth - right;
  const items = s.kinds.map(([name, colour]) => [name, colour, "box"]);
  if (s.hasLag) items.push(["loop lag", LAG, "line"]);
  for (let i = items.length - 1; i >= 0; i--) {
    const [name, colour, shape] = items[i];
    const w = ctx.measureText(name).width;
    lx -= w;
    ctx.fillStyle = "black";
    ctx.fillText(name, lx, top - 9);
    lx -= 16;
    ctx.fillStyle = colour;
    if (shape === "box") ctx.fillRect(lx, top - 14, 12, 9);
    else ctx.fillRect(lx, top - 10, 12, 2);
    lx -= 10;
  }
  return performance.now() - began;
}

const states = new WeakMap();

function stateOf(model) {
  let s = states.get(model);
  if (!s) {
    s = { data: newState(), views: new Set() };
    states.set(model, s);
    model.on("msg:custom", (content, buffers) => {
      ingest(s.data, content, buffers || []);
      for (const redraw of s.views) redraw();
    });
  }
  return s;
}

export default {
  initialize({ model }) {
    stateOf(model);
  },
  render({ model, el }) {
    const s = stateOf(model);
    const canvas = document.createElement("canvas");
    canvas.className = "asynckit-live";
    el.appendChild(canvas);
    el.dataset.frames = "0";
    let pending = false;
    const frame = () => {
      pending = false;
      const ms = draw(canvas, s.data, model.get("title"));
      el.dataset.frames = String(+el.dataset.frames + 1);
      el.dataset.spans = String(s.data.start.length);
      el.dataset.now = String(s.data.now);
      el.dataset.frameMs = ms.toFixed(2);
    };
    const redraw = () => {
      if (!pending) {
        pending = true;
        requestAnimationFrame(frame);
      }
    };
    s.views.add(redraw);
    redraw();
    return () => s.views.delete(redraw);
  },
};
