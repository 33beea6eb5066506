// Compiled by `tsc -p test/types` only: the README's calls type-check against the .d.ts.
import { init, VERSION, type Tracker } from '@lookout/tracker';
import { useAnalytics } from '@lookout/tracker/react';

const tracker: Tracker = init({ writeKey: 'WRITE_KEY', endpoint: 'https://ingest.example.com', debug: false });
tracker.page();
tracker.trackSearch('thai massage', { city: 'Berlin' }, 12);
tracker.trackBooking('attempt', { therapistId: 'therapist123', serviceType: 'massage', duration: 90, totalPrice: 150000, location: 'Jakarta' });
tracker.trackChatActivity('started', { chatId: 'chat123', participantType: 'customer' });
tracker.trackUserRegistration('therapist', 'email_signup');
tracker.trackError(new Error('x'), 'user_registration');
tracker.setConsent({ analytics: true, geo: false });
const flushed: Promise<void> = tracker.flush();
const anonymousId: string | null = tracker.getAnonymousId();
const { trackSearch } = useAnalytics(tracker, { path: '/therapists' });
trackSearch('massage therapist', { city: 'Jakarta' }, 25);
// @ts-expect-error: a booking stage is 'attempt' or 'completed'
tracker.trackBooking('cancelled', {});
// @ts-expect-error: init needs an endpoint
init({ writeKey: 'WRITE_KEY' });
export { VERSION, flushed, anonymousId };
