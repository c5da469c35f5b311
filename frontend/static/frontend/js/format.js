// Display formats: local time in the catalog's zone, km/h, seconds.
import { config } from "./config.js";

export const KMH_PER_MPS = 3.6;
const tz = config.timezone || "UTC";

const dateTime = new Intl.DateTimeFormat("en-GB", {
  timeZone: tz, year: "numeric", month: "short", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hour12: false,
});
const timeOnly = new Intl.DateTimeFormat("en-GB", {
  timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
// "JST" reads better than "GMT+9"; English locales only know abbreviations for some
// zones, so also ask the zone's own region's locale before settling for an offset.
const ZONE_LOCALES = ["en-US", "en-GB", "ja-JP", "en-AU", "en-IN", "de-DE", "fr-FR", "ko-KR"];

function shortZone(date, locale) {
  const part = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: "short" })
    .formatToParts(date).find((p) => p.type === "timeZoneName");
  return part ? part.value : "";
}

export function zoneLabel(date = new Date()) {
  for (const locale of ZONE_LOCALES) {
    const name = shortZone(date, locale);
    if (/^[A-Z]{2,5}$/.test(name)) return name;
  }
  return shortZone(date, "en-US") || tz;
}

export function localDateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${dateTime.format(date)} ${zoneLabel(date)}`;
}

export function localTime(iso) {
  if (!iso) return "—";
  return timeOnly.format(new Date(iso));
}

export function kmh(mps, digits = 0) {
  if (mps === null || mps === undefined || Number.isNaN(Number(mps))) return "—";
  return `${(Number(mps) * KMH_PER_MPS).toFixed(digits)} km/h`;
}

export function seconds(t, digits = 1) {
  return `${Number(t || 0).toFixed(digits)} s`;
}

export function percent(x, digits = 0) {
  if (x === null || x === undefined) return "—";
  return `${(Number(x) * 100).toFixed(digits)}%`;
}

// The offset of `tz` at the instant `date`, in minutes east of UTC.
function offsetMinutes(date) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(date).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((asUtc - date.getTime()) / 60000);
}

// "2026-11-28T09:30" typed in the catalog's zone -> "2026-11-28T09:30:00+09:00".
export function localInputToIso(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
  if (!m) return value;
  const [, y, mo, d, hh, mi, ss = "00"] = m;
  const naiveUtc = Date.UTC(+y, +mo - 1, +d, +hh, +mi, +ss);
  let offset = offsetMinutes(new Date(naiveUtc));
  offset = offsetMinutes(new Date(naiveUtc - offset * 60000));
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const pad = (n) => String(n).padStart(2, "0");
  return `${y}-${mo}-${d}T${hh}:${mi}:${ss}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
