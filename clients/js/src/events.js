/**
 * The product's events (names and properties from libs/common/lookout_common/contracts/events.py):
 * each helper turns its arguments into `{ event, properties }`, or null when the
 * arguments name no event (an unknown booking stage, say).
 */

import { toJsonObject, truncate, wellFormed } from './sanitize.js';

const BOOKING_EVENTS = { attempt: 'booking_attempt', completed: 'booking_completed' };
const CHAT_EVENTS = { started: 'chat_started', message: 'chat_message_sent' };

const MAX_ERROR_MESSAGE = 4096;
const MAX_ERROR_STACK = 16384;
const MAX_ERROR_CONTEXT = 512;

/** `value` as a well-formed string of at most `max` UTF-16 units. */
function text(value, max) {
  return wellFormed(truncate(String(value), max));
}

function withoutUndefined(properties) {
  const result = {};
  for (const key of Object.keys(properties)) {
    if (properties[key] !== undefined) result[key] = properties[key];
  }
  return result;
}

/** `stage` 'attempt' | 'completed'; props: therapistId, serviceType, duration (minutes),
 * totalPrice, currency (ISO 4217), location, paymentMethod, and any others. */
export function bookingEvent(stage, props) {
  const event = BOOKING_EVENTS[stage];
  return event ? { event, properties: toJsonObject(props) } : null;
}

/** `kind` 'started' | 'message'; props: chatId, participantType, messageLength, hasAttachment. */
export function chatEvent(kind, props) {
  const event = CHAT_EVENTS[kind];
  return event ? { event, properties: toJsonObject(props) } : null;
}

export function searchEvent(query, filters, resultsCount) {
  const count = Number(resultsCount);
  return {
    event: 'search_performed',
    properties: withoutUndefined({
      query: query === undefined || query === null ? '' : wellFormed(String(query)),
      filters: toJsonObject(filters),
      resultsCount:
        resultsCount === undefined || resultsCount === null || !Number.isFinite(count)
          ? undefined
          : count,
    }),
  };
}

export function registrationEvent(userType, method) {
  return {
    event: 'user_registered',
    properties: withoutUndefined({
      userType: wellFormed(String(userType)),
      method: method === undefined || method === null ? undefined : wellFormed(String(method)),
    }),
  };
}

/** Where the error happened, as ingest takes it: a string as given (the brief's
 * `trackError(error, 'user_registration')`), anything else as a JSON object. */
function errorContext(context) {
  return typeof context === 'string' ? text(context, MAX_ERROR_CONTEXT) : toJsonObject(context);
}

/** An Error (or anything thrown) as `error_occurred`: message, type (the error's name), stack,
 * context. */
export function errorEvent(error, context) {
  const isObject = error !== null && typeof error === 'object';
  let message = isObject && 'message' in error ? String(error.message) : String(error);
  if (!message) message = 'unknown error';
  const name = isObject && error.name ? String(error.name) : 'Error';
  const stack = isObject && typeof error.stack === 'string' ? error.stack : undefined;
  return {
    event: 'error_occurred',
    properties: withoutUndefined({
      message: text(message, MAX_ERROR_MESSAGE),
      type: text(name, 128),
      stack: stack === undefined ? undefined : text(stack, MAX_ERROR_STACK),
      context: errorContext(context),
    }),
  };
}
