// Package conformance is the contract every courier driver passes: one test
// suite over the public courier API that runs against any backend.
//
// A driver's test calls Run with a function that opens a fresh, empty broker
// and a Features value saying how the suite may drive it:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) *courier.Broker {
//			b, err := courier.Open(t.Context(), "file://"+t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { b.Close() })
//			return b
//		}, conformance.Features{Synctest: true})
//	}
//
// Cases that need a capability the backend does not declare (FIFO, dedup,
// dead-letter queues, ...) are skipped with a message naming it; nothing else
// is skipped. Time-dependent cases (visibility, delay, retention, dedup
// window, long polling) run inside testing/synctest bubbles when
// Features.Synctest is set, so they take no wall time; otherwise they run on
// the real clock with short durations, and cases that need minutes of
// fake time are skipped.
package conformance
