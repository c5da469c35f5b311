// The "place" filter: pick a point + radius (`near=lat,lon,radius_m`) or draw a box
// (`bbox=min_lon,min_lat,max_lon,max_lat`) on a small Leaflet map.
import { addCoverage, createMap, DEFAULT_VIEW } from "./maps.js";

const DEFAULT_RADIUS_M = 500;
const ACCENT = "#7c8cff";
const fmt = (x) => Number(x).toFixed(5).replace(/0+$/, "").replace(/\.$/, "");

function parseNumbers(text, count) {
  const parts = String(text || "").split(",").map(Number);
  return parts.length === count && parts.every(Number.isFinite) ? parts : null;
}

export function initPlaceMap({ onChange }) {
  const L = window.L;
  const element = document.getElementById("place-map");
  const near = document.getElementById("f-near");
  const bbox = document.getElementById("f-bbox");
  const radius = document.getElementById("f-radius");
  const radiusRow = document.getElementById("radius-row");
  const readout = document.getElementById("place-readout");
  const modeButtons = [...document.querySelectorAll("[data-place-mode]")];
  if (!element || !L) return { sync() {} };

  const map = createMap(element, { zoomControl: false });
  map.setView(DEFAULT_VIEW.center, DEFAULT_VIEW.zoom);
  L.control.zoom({ position: "topright" }).addTo(map);
  const shapes = L.layerGroup().addTo(map);
  let mode = null;
  let hadShape = false;
  addCoverage(map).then((coverage) => {
    if (coverage && coverage.points.length && !hadShape) {
      map.fitBounds(L.latLngBounds(coverage.points), { padding: [12, 12], maxZoom: 13 });
    }
  });

  function setMode(next) {
    mode = mode === next ? null : next;
    modeButtons.forEach((b) => b.classList.toggle("active", b.dataset.placeMode === mode));
    element.classList.toggle("drawing", Boolean(mode));
    if (mode === "bbox") map.dragging.disable();
    else map.dragging.enable();
  }

  function draw() {
    shapes.clearLayers();
    const circle = parseNumbers(near.value, 3);
    const box = parseNumbers(bbox.value, 4);
    const lines = [];
    if (circle) {
      const [lat, lon, r] = circle;
      L.circle([lat, lon], { radius: r, color: ACCENT, weight: 1.5, fillOpacity: 0.12 }).addTo(shapes);
      L.circleMarker([lat, lon], { radius: 3, color: ACCENT, fillOpacity: 1 }).addTo(shapes);
      radius.value = String(Math.round(r));
      lines.push(`within ${Math.round(r)} m of ${fmt(lat)}, ${fmt(lon)}`);
    }
    if (box) {
      const [minLon, minLat, maxLon, maxLat] = box;
      L.rectangle([[minLat, minLon], [maxLat, maxLon]], {
        color: ACCENT, weight: 1.5, fillOpacity: 0.1, dashArray: "4 3",
      }).addTo(shapes);
      lines.push(`box ${fmt(minLat)}, ${fmt(minLon)} → ${fmt(maxLat)}, ${fmt(maxLon)}`);
    }
    radiusRow.hidden = !circle;
    readout.textContent = lines.join(" · ") || "Anywhere. Pick a point or draw a box.";
    return shapes.getLayers().length ? L.featureGroup(shapes.getLayers()).getBounds() : null;
  }

  function sync({ fit = true } = {}) {
    const bounds = draw();
    hadShape = Boolean(bounds);
    if (bounds && fit) map.fitBounds(bounds, { padding: [18, 18], maxZoom: 15 });
  }

  modeButtons.forEach((button) =>
    button.addEventListener("click", () => setMode(button.dataset.placeMode)),
  );
  document.getElementById("place-clear").addEventListener("click", () => {
    const changed = near.value || bbox.value;
    near.value = "";
    bbox.value = "";
    setMode(null);
    draw();
    if (changed) onChange();
  });
  radius.addEventListener("change", () => {
    const circle = parseNumbers(near.value, 3);
    const r = Number(radius.value);
    if (circle && Number.isFinite(r) && r > 0) {
      near.value = `${fmt(circle[0])},${fmt(circle[1])},${Math.round(r)}`;
      sync();
      onChange();
    }
  });

  map.on("click", (event) => {
    if (mode !== "near") return;
    const current = parseNumbers(near.value, 3);
    const r = current ? current[2] : Number(radius.value) || DEFAULT_RADIUS_M;
    near.value = `${fmt(event.latlng.lat)},${fmt(event.latlng.lng)},${Math.round(r)}`;
    bbox.value = "";
    setMode(null);
    sync({ fit: false });
    onChange();
  });

  // Box drawing: press, drag, release (map dragging is off in this mode).
  let start = null;
  let preview = null;
  map.on("mousedown", (event) => {
    if (mode !== "bbox") return;
    start = event.latlng;
    preview = L.rectangle([start, start], { color: ACCENT, weight: 1.5, fillOpacity: 0.1 }).addTo(map);
  });
  map.on("mousemove", (event) => {
    if (start && preview) preview.setBounds([start, event.latlng]);
  });
  map.on("mouseup", (event) => {
    if (!start) return;
    const b = L.latLngBounds(start, event.latlng);
    preview.remove();
    start = null;
    if (b.getNorth() === b.getSouth() || b.getEast() === b.getWest()) return;
    bbox.value = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(fmt).join(",");
    near.value = "";
    setMode(null);
    sync({ fit: false });
    onChange();
  });

  sync();
  // The map sits in a scrolling sidebar laid out after the first paint.
  setTimeout(() => map.invalidateSize(), 50);
  return { sync, map };
}
