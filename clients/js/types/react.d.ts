// Types of @lookout/tracker/react.
import type { Tracker } from './index.js';

export interface UseAnalyticsOptions {
  /** The current route's path (default: window.location.pathname on each render). */
  path?: string;
  /** false: only the functions, no page views (default true). */
  trackPageViews?: boolean;
}

export type AnalyticsFunctions = Pick<
  Tracker,
  | 'trackEvent'
  | 'page'
  | 'identify'
  | 'trackBooking'
  | 'trackChatActivity'
  | 'trackSearch'
  | 'trackUserRegistration'
  | 'trackError'
  | 'setConsent'
  | 'flush'
  | 'reset'
>;

/** The tracker's functions (the same object on every render) and page views on path changes. */
export declare function useAnalytics(
  tracker: Tracker | null | undefined,
  options?: UseAnalyticsOptions,
): AnalyticsFunctions;
