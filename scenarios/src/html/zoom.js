// The report's zoom: redraws every timeline on the page for a window of simulated time. Each
// time-placed element carries its times (data-t, data-a/data-b, data-pts); markers are laid out
// again in rows from their measured label widths, so they never overlap. Timelines on one page
// (a scenario and its baseline) move together.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  const svgs = Array.from(document.querySelectorAll("svg.timeline"));
  if (svgs.length === 0) return;
  const first = svgs[0];
  const end = Math.max(...svgs.map((s) => +s.dataset.end));
  const home = [+first.dataset.from, +first.dataset.to];
  let view = home.slice();

  function clock(t) {
    const s = Math.round(t);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
    return (h > 0 ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function draw(svg) {
    const G = +svg.dataset.gutter, P = +svg.dataset.plot;
    const [a, b] = view;
    const X = (t) => G + ((t - a) / Math.max(b - a, 1e-9)) * P;
    svg.querySelectorAll("[data-a]").forEach((e) => {
      const x0 = X(+e.dataset.a), x1 = X(+e.dataset.b);
      if (e.tagName === "text") {
        e.setAttribute("x", (x0 + 3).toFixed(1));
        const fits = e.getComputedTextLength() + 6 <= x1 - x0;
        e.setAttribute("visibility", fits ? "visible" : "hidden");
      } else if (e.tagName === "line") {
        e.setAttribute("x1", x0.toFixed(1));
        e.setAttribute("x2", x1.toFixed(1));
      } else {
        e.setAttribute("x", x0.toFixed(1));
        e.setAttribute("width", Math.max(+(e.dataset.min || 0), x1 - x0).toFixed(1));
      }
    });
    svg.querySelectorAll("[data-t]").forEach((e) => {
      const x = X(+e.dataset.t) + +(e.dataset.dx || 0);
      if (e.tagName === "line") {
        e.setAttribute("x1", x.toFixed(1));
        e.setAttribute("x2", x.toFixed(1));
      } else if (e.tagName === "circle") {
        e.setAttribute("cx", x.toFixed(1));
      } else if (e.tagName === "text") {
        e.setAttribute("x", x.toFixed(1));
      }
    });
    svg.querySelectorAll("polyline[data-pts]").forEach((e) => {
      const pts = e.dataset.pts.split(" ").map((p) => {
        const [t, y] = p.split(",");
        return X(+t).toFixed(1) + "," + y;
      });
      e.setAttribute("points", pts.join(" "));
    });
    ticks(svg, X, a, b);
    markers(svg, X, a, b);
  }

  function ticks(svg, X, a, b) {
    const g = svg.querySelector("g.ticks");
    if (!g) return;
    const step = STEPS.find((s) => (b - a) / s <= 12) || 21600;
    while (g.firstChild) g.removeChild(g.firstChild);
    const top = +g.dataset.top, bottom = +g.dataset.bottom;
    const lt = +g.dataset.labelTop, lb = +g.dataset.labelBottom;
    for (let s = Math.ceil(a / step) * step; s <= b + 1e-9; s += step) {
      const x = X(s).toFixed(1);
      const line = document.createElementNS(NS, "line");
      line.setAttribute("x1", x); line.setAttribute("x2", x);
      line.setAttribute("y1", top); line.setAttribute("y2", bottom);
      line.setAttribute("stroke", "#e4e4e4");
      g.appendChild(line);
      for (const y of [lt, lb]) {
        const text = document.createElementNS(NS, "text");
        text.setAttribute("x", x); text.setAttribute("y", y);
        text.setAttribute("text-anchor", "middle");
        text.textContent = clock(s);
        g.appendChild(text);
      }
    }
  }

  // Markers in rows: each in the first row its box (circle and label) clears by 4 px.
  function markers(svg, X, a, b) {
    const ms = Array.from(svg.querySelectorAll("g.marker"));
    const shown = ms.filter((m) => +m.dataset.t >= a && +m.dataset.t <= b);
    ms.forEach((m) => m.setAttribute("visibility", "hidden"));
    shown.sort((p, q) => +p.dataset.t - +q.dataset.t);
    const rows = [];
    const ROW = 18;
    for (const m of shown) {
      const x = X(+m.dataset.t);
      const label = m.querySelector("text.mlabel");
      const w = label.getComputedTextLength();
      const G = +svg.dataset.gutter, P = +svg.dataset.plot;
      const flip = x + 12 + w > G + P + 20;
      const left = flip ? x - 12 - w : x - 8, right = flip ? x + 8 : x + 12 + w;
      label.dataset.dx = flip ? -10 : 10;
      label.setAttribute("text-anchor", flip ? "end" : "start");
      label.setAttribute("x", (x + (flip ? -10 : 10)).toFixed(1));
      let r = rows.findIndex((e) => e + 4 <= left);
      if (r < 0) { rows.push(-Infinity); r = rows.length - 1; }
      rows[r] = right;
      const cy = 8 + r * ROW + 8;
      m.querySelector("circle").setAttribute("cy", cy);
      m.querySelector("text.num").setAttribute("y", cy + 3.5);
      label.setAttribute("y", cy + 3.5);
      const line = m.querySelector("line");
      line.setAttribute("y1", cy + 7);
      m.setAttribute("visibility", "visible");
      m.dataset.box = [left, cy - 8, right, cy + 8].map((v) => v.toFixed(1)).join(" ");
    }
    const band = 8 + rows.length * ROW;
    const body = +svg.dataset.body;
    svg.querySelector("g.body").setAttribute("transform", "translate(0 " + band.toFixed(1) + ")");
    const bottom = +svg.querySelector("g.ticks").dataset.bottom;
    ms.forEach((m) => m.querySelector("line").setAttribute("y2", (band + bottom).toFixed(1)));
    const h = (band + body).toFixed(0);
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", "0 0 " + svg.getAttribute("width") + " " + h);
  }

  function show(a, b) {
    const min = 5;
    if (b - a < min) { const c = (a + b) / 2; a = c - min / 2; b = c + min / 2; }
    a = Math.max(0, a); b = Math.min(end, b);
    view = [a, b];
    svgs.forEach(draw);
    document.querySelectorAll(".view-now").forEach((e) => (e.textContent = clock(a) + " to " + clock(b)));
  }

  function zoom(f) {
    const c = (view[0] + view[1]) / 2, h = ((view[1] - view[0]) * f) / 2;
    show(c - h, c + h);
  }

  function pan(f) {
    const w = view[1] - view[0];
    let a = view[0] + w * f;
    a = Math.min(Math.max(0, a), Math.max(0, end - w));
    show(a, a + w);
  }

  document.querySelectorAll("[data-view]").forEach((btn) => {
    btn.addEventListener("click", () => {
      const v = btn.dataset.view;
      if (v === "deployments") show(home[0], home[1]);
      else if (v === "all") show(0, end);
      else if (v === "in") zoom(0.5);
      else if (v === "out") zoom(2);
      else if (v === "left") pan(-0.25);
      else if (v === "right") pan(0.25);
    });
  });

  // Drag across a timeline to zoom into that stretch.
  svgs.forEach((svg) => {
    let start = null;
    const toT = (ev) => {
      const r = svg.getBoundingClientRect();
      const G = +svg.dataset.gutter, P = +svg.dataset.plot;
      const x = ((ev.clientX - r.left) * +svg.getAttribute("width")) / r.width;
      return view[0] + ((x - G) / P) * (view[1] - view[0]);
    };
    svg.addEventListener("mousedown", (ev) => { start = toT(ev); ev.preventDefault(); });
    svg.addEventListener("mouseup", (ev) => {
      if (start === null) return;
      const t = toT(ev);
      if (Math.abs(t - start) > (view[1] - view[0]) / 100) show(Math.min(start, t), Math.max(start, t));
      start = null;
    });
  });

  show(home[0], home[1]);
})();
