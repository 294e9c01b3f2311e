package outbox

import "time"

// CrashAfterPublish makes r call f between publishing a batch and stamping it
// published: the window the crash test aims at.
func CrashAfterPublish(r *Relay, f func()) { r.afterPublish = f }

// SetNow makes r read the time from now.
func SetNow(r *Relay, now func() time.Time) { r.now = now }

// BeforePass makes Run call f when it has decided on a pass, before the pass
// reads what was notified: where a commit lands during the linger.
func BeforePass(r *Relay, f func()) { r.beforePass = f }
