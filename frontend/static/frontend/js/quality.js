// The data-quality page: mean GNSS fix rate per local day (columns) and vehicle (rows), from
// `GET quality/gnss/`. Outage days (several vehicles low at once) are marked over their
// column; each cell links to the search for that vehicle's scenes of that day, each day
// to the search for all of its scenes. The window is the page's URL.
import { api, errorLines } from "./api.js";
import { h, icon } from "./dom.js";

const page = document.getElementById("quality-page");
const heatmap = document.getElementById("heatmap");
const legend = document.getElementById("hm-legend");
const summary = document.getElementById("quality-summary");
const outagesHost = document.getElementById("outages");
const outageCount = document.getElementById("outage-count");
const windowError = document.getElementById("window-error");

const pct = (v, digits = 1) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`);
const dayLabel = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const weekday = new Intl.DateTimeFormat("en-GB", { weekday: "short", timeZone: "UTC" });
const monthLabel = new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
const monthShort = new Intl.DateTimeFormat("en-GB", { month: "short", timeZone: "UTC" });

function parseDay(iso) {
  return new Date(`${iso}T00:00:00Z`);
}

function daysBetween(first, last) {
  const days = [];
  for (let d = parseDay(first); d <= parseDay(last); d = new Date(d.getTime() + 86400000)) {
    days.push(d.toISOString().slice(0, 10));
  }
  return days;
}

// Red well below the threshold, through orange just under it, to green at a full fix.
function fixColor(mean, threshold) {
  if (mean === null || mean === undefined) return "var(--bg-hover)";
  if (mean >= threshold) {
    const k = threshold < 1 ? Math.min(1, (mean - threshold) / (1 - threshold)) : 1;
    return `hsl(${Math.round(78 + 72 * k)} 58% ${Math.round(44 - 8 * k)}%)`;
  }
  const floor = threshold / 2;
  const k = Math.max(0, (mean - floor) / (threshold - floor));
  return `hsl(${Math.round(2 + 32 * k)} 78% ${Math.round(50 + 4 * k)}%)`;
}

function cellTitle(row, threshold) {
  const lines = [
    `${row.vehicle_id} · ${dayLabel.format(parseDay(row.day))} ${row.day.slice(0, 4)}`,
    `${row.scenes} scene${row.scenes === 1 ? "" : "s"} · mean fix ${pct(row.fix_rate_mean)}`,
  ];
  if (row.low) lines.push(`below ${pct(threshold, 0)}: low vehicle-day`);
  if (row.outage) lines.push("outage day: every scene is flagged");
  lines.push("Click: these scenes in the search");
  return lines.join("\n");
}

function renderLegend(threshold) {
  const stops = [0.3, 0.6, threshold - 0.01, threshold, (threshold + 1) / 2, 1].map((v) => fixColor(v, threshold));
  legend.replaceChildren(
    h("span", { class: "hm-legend-scale" },
      h("span", {}, pct(threshold / 2, 0)),
      h("span", { class: "hm-gradient", style: `background: linear-gradient(90deg, ${stops.join(", ")})` },
        h("i", { class: "hm-threshold", style: `left:${(((threshold - threshold / 2) / (1 - threshold / 2)) * 100).toFixed(1)}%`, title: `threshold ${pct(threshold, 0)}` })),
      h("span", {}, "100%")),
    h("span", { class: "hm-legend-item" }, h("span", { class: "hm-swatch low" }), "low vehicle-day"),
    h("span", { class: "hm-legend-item" }, h("span", { class: "hm-swatch outage" }), "outage day"),
    h("span", { class: "hm-legend-item" }, h("span", { class: "hm-swatch empty" }), "no scenes"),
  );
}

function renderHeatmap(report, dayRows, cellRows) {
  const threshold = report.min_fix_rate;
  const days = daysBetween(report.start, report.end);
  const byDay = new Map(dayRows.map((row) => [row.day, row]));
  const vehicles = [...new Set(cellRows.map((row) => row.vehicle_id))].sort();
  const cells = new Map(cellRows.map((row) => [`${row.vehicle_id}\n${row.day}`, row]));
  if (!vehicles.length) {
    heatmap.replaceChildren(h("div", { class: "state" }, icon("film", "icon-lg"),
      h("h2", {}, "No scenes in this window"),
      h("p", {}, "Pick other days, or ingest a manifest.")));
    return;
  }
  const cell = Math.max(10, Math.min(30, Math.floor((heatmap.clientWidth - 130) / days.length)));
  const grid = h("div", {
    class: "hm-grid", role: "grid", "aria-label": "Mean GNSS fix rate per day and vehicle",
    style: `grid-template-columns: 120px repeat(${days.length}, ${cell}px); --cell: ${cell}px`,
  });
  const labelEvery = cell >= 26 ? 1 : cell >= 16 ? 2 : 7;

  // Header: day labels (thinned when cells are narrow) and outage markers.
  grid.append(h("div", { class: "hm-corner" }, monthLabel.format(parseDay(report.start))));
  days.forEach((day, i) => {
    const row = byDay.get(day);
    const date = parseDay(day);
    // Day numbers; a new month starts with its name.
    const newMonth = date.getUTCDate() === 1 && i > 0;
    const show = newMonth || i % labelEvery === 0;
    grid.append(h("div", { class: `hm-day${row && row.flagged ? " outage" : ""}${newMonth ? " month" : ""}`, title: `${day} ${weekday.format(date)}` },
      show ? h("span", {}, newMonth ? monthShort.format(date) : String(date.getUTCDate())) : null));
  });
  grid.append(h("div", { class: "hm-rowlabel hm-marker-label" }, "outage"));
  for (const day of days) {
    const row = byDay.get(day);
    grid.append(row && row.flagged
      ? h("a", { class: "hm-marker", href: row.url, "data-outage-day": day, title: `${day}: ${row.reason}` }, icon("alert"))
      : h("div", { class: "hm-marker-empty" }));
  }

  for (const vehicle of vehicles) {
    grid.append(h("div", { class: "hm-rowlabel mono", title: vehicle }, vehicle));
    for (const day of days) {
      const row = cells.get(`${vehicle}\n${day}`);
      const outageDay = Boolean(byDay.get(day) && byDay.get(day).flagged);
      if (!row) {
        grid.append(h("div", { class: `hm-cell empty${outageDay ? " outage" : ""}` }));
        continue;
      }
      grid.append(h("a", {
        class: `hm-cell${row.low ? " low" : ""}${row.outage ? " outage" : ""}`,
        href: row.url,
        style: `background:${fixColor(row.fix_rate_mean, threshold)}`,
        title: cellTitle(row, threshold),
        "aria-label": cellTitle(row, threshold).split("\n").slice(0, 3).join(", "),
        dataset: { day, vehicle, flagged: String(row.flagged), low: String(row.low), outage: String(row.outage) },
      }));
    }
  }

  // The fleet: every vehicle's scenes of the day.
  grid.append(h("div", { class: "hm-rowlabel hm-fleet-label" }, "all vehicles"));
  for (const day of days) {
    const row = byDay.get(day);
    grid.append(row
      ? h("a", {
        class: `hm-cell hm-fleet${row.flagged ? " outage" : ""}`,
        href: row.url,
        style: `background:${fixColor(row.fix_rate_mean, threshold)}`,
        title: `${day} · ${weekday.format(parseDay(day))}\n${row.scenes} scenes, ${row.vehicles} vehicles (${row.low_vehicles} low) · mean fix ${pct(row.fix_rate_mean)}\nClick: all scenes of the day`,
        dataset: { day, fleet: "true" },
      })
      : h("div", { class: "hm-cell hm-fleet empty" }));
  }
  heatmap.replaceChildren(grid);
}

function renderSummary(report, dayRows, cellRows) {
  const scenes = dayRows.reduce((n, row) => n + row.scenes, 0);
  const outages = dayRows.filter((row) => row.flagged);
  const low = cellRows.filter((row) => row.low).length;
  const flaggedScenes = outages.reduce((n, row) => n + row.scenes, 0);
  summary.replaceChildren(
    h("div", { class: "qs-item" }, h("b", {}, scenes.toLocaleString()), " scenes"),
    h("div", { class: `qs-item${outages.length ? " danger" : ""}`, "data-testid": "outage-days" },
      h("b", {}, String(outages.length)), ` outage day${outages.length === 1 ? "" : "s"}`,
      outages.length ? h("span", { class: "faint" }, ` · ${flaggedScenes.toLocaleString()} scenes flagged`) : null),
    h("div", { class: `qs-item${low ? " warn" : ""}` }, h("b", {}, String(low)), ` low vehicle-day${low === 1 ? "" : "s"}`),
    h("div", { class: "qs-item faint" }, `${report.start} – ${report.end} · ${report.timezone}`),
    h("a", { class: "btn btn-sm", href: "/?quality=flagged" }, icon("search"), "All flagged scenes"),
  );
}

function renderOutages(dayRows) {
  const outages = dayRows.filter((row) => row.flagged);
  outageCount.textContent = String(outages.length);
  if (!outages.length) {
    outagesHost.replaceChildren(h("div", { class: "empty-note" }, "No outage day in this window."));
    return;
  }
  outagesHost.replaceChildren(h("table", { class: "table", id: "outage-table" },
    h("thead", {}, h("tr", {}, ["Day", "Vehicles low", "Scenes", "Mean fix", "Why", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, outages.map((row) => h("tr", { "data-day": row.day },
      h("td", { class: "nowrap" }, h("b", {}, row.day), " ", h("span", { class: "faint" }, weekday.format(parseDay(row.day)))),
      h("td", { class: "num" }, `${row.low_vehicles} of ${row.vehicles}`),
      h("td", { class: "num" }, row.scenes.toLocaleString()),
      h("td", { class: "num" }, pct(row.fix_rate_mean)),
      h("td", { class: "dim" }, row.reason),
      h("td", { class: "nowrap" }, h("a", { class: "btn btn-sm", href: row.url }, icon("search"), "Scenes")))))));
}

function showError(error) {
  const lines = errorLines(error);
  windowError.hidden = false;
  windowError.textContent = lines.length ? lines.map((l) => `${l.field}: ${l.message}`).join(" ") : error.message;
  heatmap.replaceChildren(h("div", { class: "state state-error", role: "alert" }, icon("alert", "icon-lg"),
    h("h2", {}, "The report could not be loaded"), h("p", {}, windowError.textContent)));
  outagesHost.replaceChildren();
  outageCount.textContent = "—";
}

async function load() {
  const params = {};
  for (const name of ["start_after", "start_before"]) {
    const value = page.dataset[name === "start_after" ? "startAfter" : "startBefore"];
    if (value) params[name] = value;
  }
  try {
    const [days, cells] = await Promise.all([
      api.get("quality/gnss/", { ...params, by: "day" }),
      api.get("quality/gnss/", { ...params, by: "vehicle_day" }),
    ]);
    // Without a window in the URL the report picks one: show it in the form.
    document.getElementById("w-start_after").value ||= days.start;
    document.getElementById("w-start_before").value ||= days.end;
    renderLegend(days.min_fix_rate);
    renderSummary(days, days.results, cells.results);
    renderHeatmap(days, days.results, cells.results);
    renderOutages(days.results);
    page.dataset.ready = "true";
  } catch (error) {
    showError(error);
  }
}

load();
