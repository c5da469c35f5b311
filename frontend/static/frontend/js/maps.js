// Leaflet maps with the configured tile URL, or a plain grid background when none is
// configured (offline machines): tracks and points still draw in lat/lon.
import { config } from "./config.js";

export const DEFAULT_VIEW = { center: [35.65, 139.74], zoom: 10 }; // the demo fleet: Tokyo

export function createMap(element, options = {}) {
  const L = window.L;
  const map = L.map(element, {
    zoomControl: true,
    attributionControl: Boolean(config.tileUrl),
    preferCanvas: true,
    ...options,
  });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, {
      maxZoom: 19,
      attribution: config.tileAttribution || "",
    }).addTo(map);
  } else {
    element.classList.add("plain");
  }
  L.control.scale({ imperial: false, maxWidth: 90 }).addTo(map);
  return map;
}

// Leaflet inserts a string tooltip or popup as HTML. Text from the catalog (a
// disengagement kind typed into a manifest, a tag) goes in as a text node instead, so it
// shows as typed and never runs: `marker.bindTooltip(asText(kind))`.
export function asText(text) {
  const span = document.createElement("span");
  span.textContent = String(text);
  return span;
}

// Faint dots where recent scenes start, so a map without tiles still shows where the
// fleet drives.
export async function addCoverage(map) {
  try {
    const response = await fetch("/ui/places.json", { credentials: "same-origin" });
    if (!response.ok) return null;
    const { points } = await response.json();
    const L = window.L;
    const layer = L.layerGroup(
      points.map(([lat, lon]) =>
        L.circleMarker([lat, lon], {
          radius: 2, stroke: false, fillColor: "#9aa2b4", fillOpacity: 0.35, interactive: false,
        }),
      ),
    ).addTo(map);
    return { layer, points };
  } catch {
    return null;
  }
}
