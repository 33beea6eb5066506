/**
 * Whatever the host app passes as properties becomes plain JSON before it is
 * queued: cycles, functions, symbols, BigInts, invalid dates, throwing getters
 * and non-finite numbers are replaced or left out instead of breaking
 * `JSON.stringify` later (and with it the whole queue). Strings are made
 * well-formed, since ingest refuses an event holding a lone surrogate.
 */

const MAX_DEPTH = 20;
// A surrogate pair (kept) or a lone surrogate (replaced); no lookbehind, which
// older Safari cannot parse.
const SURROGATES = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;

/** `text` with every lone surrogate replaced by U+FFFD, as UTF-8 can carry it. */
export function wellFormed(text) {
  if (typeof text.isWellFormed === 'function' && text.isWellFormed()) return text;
  return text.replace(SURROGATES, (match) => (match.length === 2 ? match : '\uFFFD'));
}

/** At most `max` UTF-16 units of `text`, never ending in half a surrogate pair. */
export function truncate(text, max) {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last < 0xdc00 ? max - 1 : max);
}

function plain(value, ancestors, depth) {
  switch (typeof value) {
    case 'string':
      return wellFormed(value);
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  if (ancestors.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (value instanceof Error) {
    return { name: String(value.name), message: String(value.message) };
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item) => {
        const converted = plain(item, ancestors, depth + 1);
        return converted === undefined ? null : converted;
      });
    }
    if (typeof value.toJSON === 'function') {
      return plain(value.toJSON(), ancestors, depth + 1);
    }
    const result = {};
    for (const key of Object.keys(value)) {
      let converted;
      try {
        converted = plain(value[key], ancestors, depth + 1);
      } catch (error) {
        converted = undefined;
      }
      if (converted !== undefined) result[wellFormed(key)] = converted;
    }
    return result;
  } finally {
    ancestors.delete(value);
  }
}

/** `value` as a JSON value (undefined when it has none, like a function). */
export function toJsonValue(value) {
  try {
    return plain(value, new Set(), 0);
  } catch (error) {
    return undefined;
  }
}

/** `value` as a JSON object: properties, traits, an error's context. */
export function toJsonObject(value) {
  const converted = toJsonValue(value);
  return converted !== null && typeof converted === 'object' && !Array.isArray(converted)
    ? converted
    : {};
}

/** Bytes of `text` in UTF-8, the unit of ingest's size limits. */
export function utf8Length(text) {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && index + 1 < text.length) {
      bytes += 4;
      index += 1;
    } else bytes += 3;
  }
  return bytes;
}
