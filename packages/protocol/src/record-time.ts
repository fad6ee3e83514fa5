/**
 * Record timestamps (`YYYY-MM-DDTHH:MM:SS[.fff…]Z`, the flow record's RFC 3339 UTC form) → epoch ms.
 * Runs twice per record in the IPFIX encoder and the aggregator's join, so the common form is read by
 * position with integer arithmetic only (no Date.UTC or Date.parse call); anything else, or an
 * out-of-range field, goes to Date.parse.
 */

/** Epoch ms of a record timestamp; fraction digits beyond milliseconds are truncated. */
export function parseRecordTime(text: string): number {
  const us = canonicalMicros(text);
  return Number.isNaN(us) ? Date.parse(text) : Math.floor(us / 1000);
}

/**
 * Epoch µs of a record timestamp (what a timestamptz column holds); fraction digits beyond microseconds
 * are truncated. NaN for text that is no date.
 */
export function parseRecordTimeMicros(text: string): number {
  const us = canonicalMicros(text);
  return Number.isNaN(us) ? Date.parse(text) * 1000 : us;
}

/**
 * True when `text` is a valid timestamp in the record's canonical form (`YYYY-MM-DDTHH:MM:SS[.f…]Z`, every
 * field in range): such text is accepted by the record schema, so hot paths may skip the schema's regex.
 */
export function isCanonicalRecordTime(text: string): boolean {
  return !Number.isNaN(canonicalMicros(text));
}

const columnCache = new WeakMap<readonly unknown[], Float64Array>();

/**
 * Epoch µs of every timestamp of a column of a packed batch (NaN where a value is not the canonical form,
 * or not text), read now and remembered with the array: the batch check reads each column with this, and
 * the ingest's window check and the store's encoder then get the same values from {@link columnMicros}
 * instead of reading every text again.
 */
export function readColumnMicros(column: readonly unknown[]): Float64Array {
  const micros = new Float64Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const text = column[i];
    micros[i] = typeof text === "string" ? canonicalMicros(text) : Number.NaN;
  }
  columnCache.set(column, micros);
  return micros;
}

/**
 * The values {@link readColumnMicros} remembered for this array (the batch check's reading: the column must
 * not be changed after it was checked), or read now if none are.
 */
export function columnMicros(column: readonly unknown[]): Float64Array {
  const micros = columnCache.get(column);
  return micros !== undefined && micros.length === column.length ? micros : readColumnMicros(column);
}

/** Epoch µs of the canonical form, read by position with integer arithmetic; NaN for anything else. */
function canonicalMicros(text: string): number {
  const n = text.length;
  if (
    n >= 20 &&
    text.charCodeAt(n - 1) === 90 && // Z
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58
  ) {
    // Every digit is read as code - 48; `bad` collects (9 - d) | d, negative once any d is outside 0–9.
    let bad = 0;
    let d = 0;
    let year = 0;
    for (let i = 0; i < 4; i++) {
      d = text.charCodeAt(i) - 48;
      bad |= (9 - d) | d;
      year = year * 10 + d;
    }
    const month = pair(text, 5);
    const day = pair(text, 8);
    const hour = pair(text, 11);
    const minute = pair(text, 14);
    const second = pair(text, 17);
    bad |= month | day | hour | minute | second;
    let us = 0;
    if (n > 20) {
      if (text.charCodeAt(19) !== 46 || n === 21) return Number.NaN;
      let scale = 100_000;
      for (let i = 20; i < n - 1; i++) {
        d = text.charCodeAt(i) - 48;
        bad |= (9 - d) | d;
        us += d * scale;
        scale = scale > 1 ? scale / 10 : 0;
      }
    }
    if (
      bad >= 0 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59
    ) {
      return (daysFromCivil(year, month, day) * 86_400 + (hour * 60 + minute) * 60 + second) * 1_000_000 + us;
    }
  }
  return Number.NaN;
}

/** Two decimal digits at `at`, or -1 if either is not a digit. */
function pair(text: string, at: number): number {
  const high = text.charCodeAt(at) - 48;
  const low = text.charCodeAt(at + 1) - 48;
  return ((9 - high) | high | (9 - low) | low) < 0 ? -1 : high * 10 + low;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
