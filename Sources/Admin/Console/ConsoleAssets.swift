/// The console's stylesheet and script, served from the binary (no build
/// step, no third-party code). The script only reads `/ui/data/*` and
/// updates the page; every change goes through a server-rendered form.
enum ConsoleAssets {
    static let css = """
        :root { --ok: #2e7d32; --warn: #e0a100; --bad: #c62828; --ink: #1d2433; --muted: #667; --line: #dde1ea; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f6f7fb; }
        header { display: flex; align-items: center; gap: 1.5em; padding: .6em 1.2em; background: var(--ink); color: #fff; }
        header a { color: #cfd6e6; text-decoration: none; margin-right: 1em; }
        header a.current { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
        .brand { font-weight: 700; letter-spacing: .05em; }
        .node { margin-left: auto; color: #cfd6e6; font-family: monospace; }
        .logout button { background: none; color: #cfd6e6; border: 1px solid #56607a; }
        main { padding: 1em 1.5em; max-width: 1200px; }
        main.login { max-width: 420px; margin: 8vh auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 2em; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8em 1.2em; margin: 1em 0; }
        h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin: .3em 0 .6em; }
        table { border-collapse: collapse; width: 100%; margin: .4em 0; }
        th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 500; }
        form { margin: .6em 0; display: flex; flex-wrap: wrap; gap: .6em; align-items: center; }
        form.inline { display: inline-flex; margin: 0 .4em 0 0; }
        label { display: inline-flex; gap: .3em; align-items: center; }
        input, select, button { font: inherit; padding: .3em .5em; border: 1px solid #b9c0cf; border-radius: 4px; }
        button { background: #2b4c9b; color: #fff; border-color: #2b4c9b; cursor: pointer; }
        .message { background: #e7f4e8; border: 1px solid #9ccc9f; padding: .5em .8em; border-radius: 4px; }
        .error { background: #fdeaea; border: 1px solid #e6a1a1; padding: .5em .8em; border-radius: 4px; }
        .hint { color: var(--muted); }
        .summary b { font-weight: 600; }
        .dot { display: inline-block; width: .8em; height: .8em; border-radius: 50%; }
        .dot.up { background: var(--ok); } .dot.down { background: var(--bad); }
        .partition-map { display: grid; grid-template-columns: repeat(32, 1fr); gap: 2px; max-width: 760px; }
        .partition-map div { aspect-ratio: 1; border-radius: 2px; }
        .p-full { color: var(--ok); } .p-degraded { color: var(--warn); } .p-unavailable { color: var(--bad); }
        .partition-map .p-full { background: var(--ok); } .partition-map .p-degraded { background: var(--warn); }
        .partition-map .p-unavailable { background: var(--bad); }
        progress { width: 320px; height: 1em; }
        svg#chart { width: 100%; max-width: 760px; height: 160px; background: #fafbfe; border: 1px solid var(--line); }
        polyline { fill: none; stroke-width: 2; } polyline.rate { stroke: #2b4c9b; } polyline.latency { stroke: #d2691e; }
        .legend .rate { color: #2b4c9b; margin-right: 1.5em; } .legend .latency { color: #d2691e; margin-right: 1.5em; }
        .secret code { background: #fff6d6; padding: .1em .3em; }
        """

    static let javascript = """
        "use strict";
        // Live parts of the console: numbers re-read every 2 s from /ui/data/*.
        const every = (ms, fn) => { fn(); setInterval(fn, ms); };
        const read = async (what) => {
          const response = await fetch("/ui/data/" + what, { credentials: "same-origin", cache: "no-store" });
          if (response.status === 401) { location.href = "/ui/login"; return null; }
          return response.ok ? response.json() : null;
        };
        const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };

        function partitions() {
          every(2000, async () => {
            const status = await read("status");
            if (!status || !status.availability) return;
            const names = { f: "full", d: "degraded", u: "unavailable" };
            [...status.availability.map].forEach((letter, index) => {
              const cell = document.getElementById("p-" + index);
              if (cell) { cell.className = "p-" + names[letter]; cell.title = "partition " + index + ": " + names[letter]; }
            });
            set("count-full", status.availability.full);
            set("count-degraded", status.availability.degraded);
            set("count-unavailable", status.availability.unavailable);
          });
        }

        function chart() {
          const samples = [];
          let previous = null;
          every(2000, async () => {
            const now = await read("stats");
            if (!now) return;
            if (previous && now.millis > previous.millis) {
              const seconds = (now.millis - previous.millis) / 1000;
              const requests = now.totals.requests - previous.totals.requests;
              samples.push({
                rate: requests / seconds,
                errors: (now.totals.errors - previous.totals.errors) / seconds,
                latency: requests > 0 ? (now.totals.latencyMicros - previous.totals.latencyMicros) / requests / 1000 : 0,
              });
              if (samples.length > 60) samples.shift();
              const last = samples[samples.length - 1];
              set("rate-now", last.rate.toFixed(1));
              set("latency-now", last.latency.toFixed(2));
              set("errors-now", last.errors.toFixed(1));
              draw("chart-rate", samples.map((s) => s.rate));
              draw("chart-latency", samples.map((s) => s.latency));
            }
            previous = now;
          });
        }

        function draw(id, values) {
          const line = document.getElementById(id);
          if (!line) return;
          const top = Math.max(1, ...values);
          line.setAttribute("points", values.map((v, i) => (i * 10) + "," + (155 - (v / top) * 145).toFixed(1)).join(" "));
        }

        function maintenance() {
          every(2000, async () => {
            const data = await read("maintenance");
            if (!data) return;
            const rebuild = data.rebuild;
            set("rebuild-phase", rebuild.phase);
            const partitions = document.getElementById("rebuild-partitions");
            if (partitions) { partitions.max = Math.max(1, rebuild.partitionsTotal); partitions.value = rebuild.partitionsDone; }
            set("rebuild-partitions-text", rebuild.partitionsDone + " / " + rebuild.partitionsTotal);
            const bytes = document.getElementById("rebuild-bytes");
            if (bytes) { bytes.max = Math.max(1, rebuild.bytesTotal); bytes.value = rebuild.bytesTotal - rebuild.bytesRemaining; }
            set("rebuild-bytes-text", rebuild.bytesRestored + " bytes restored");
            const bars = document.querySelectorAll(".scrub-progress");
            data.scrub.forEach((scrub, index) => {
              if (bars[index]) { bars[index].max = Math.max(1, scrub.shardsTotal); bars[index].value = scrub.shardsChecked; }
            });
          });
        }

        document.addEventListener("DOMContentLoaded", () => {
          const page = document.body.dataset.page;
          if (page === "partitions") partitions();
          if (page === "cluster") chart();
          if (page === "maintenance") maintenance();
        });
        """
}
