// Types of @lookout/tracker (hand-written; the sources are plain ES modules).

export declare const VERSION: string;

/** JSON that the tracker copies into an event's properties. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Properties = { [key: string]: unknown };

export interface Consent {
  /** Anything but `true`: nothing is queued, stored or sent. */
  analytics?: boolean;
  /** Travels in each event's `context.consent`; without it ingest removes location data. */
  geo?: boolean;
}

/** Anything with the three methods of `localStorage`. */
export interface TrackerStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface TrackerOptions {
  /** An ingest API key (public: it ships in the page). */
  writeKey: string;
  /** Ingest's base URL; batches go to `${endpoint}/v1/batch`. */
  endpoint: string;
  /** Send as soon as this many events wait (20). */
  flushAt?: number;
  /** Otherwise send this long after the first waiting event (5000). */
  flushIntervalMs?: number;
  /** Most events kept while ingest is unreachable (1000). */
  maxQueue?: number;
  /** Log to console.debug (also on with `localStorage.analytics_debug = 'true'`). */
  debug?: boolean;
  consent?: Consent;
  /** `localStorage` by default; `null` keeps everything in memory. */
  storage?: TrackerStorage | null;
}

export type BookingStage = 'attempt' | 'completed';

export interface BookingProperties extends Properties {
  therapistId?: string;
  serviceType?: string;
  /** Minutes. */
  duration?: number;
  totalPrice?: number | string;
  /** ISO 4217; the marketplace's currency when left out. */
  currency?: string;
  location?: string;
  paymentMethod?: string;
}

export type ChatKind = 'started' | 'message';

export interface ChatProperties extends Properties {
  chatId?: string;
  participantType?: string;
  messageLength?: number;
  hasAttachment?: boolean;
}

/** What `init` returns. No method throws; `flush()` always resolves. */
export interface Tracker {
  trackEvent(name: string, properties?: Properties): void;
  page(properties?: Properties): void;
  identify(userId: string, traits?: Properties): void;
  trackBooking(stage: BookingStage, properties?: BookingProperties): void;
  trackChatActivity(kind: ChatKind, properties?: ChatProperties): void;
  trackSearch(query: string, filters?: Properties, resultsCount?: number): void;
  trackUserRegistration(userType: string, method?: string): void;
  trackError(error: unknown, context?: string | Properties): void;
  trackWebVitals(): void;
  setConsent(consent: Consent): void;
  flush(): Promise<void>;
  reset(): void;
  getAnonymousId(): string | null;
  destroy(): void;
}

export declare function init(options: TrackerOptions): Tracker;
