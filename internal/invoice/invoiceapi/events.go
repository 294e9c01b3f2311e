package invoiceapi

// The subjects (event types) the invoice service publishes through its
// outbox.
const (
	// SubjectIssued carries an Issued: an invoice was issued.
	SubjectIssued = "invoice.issued.v1"
	// SubjectCreditNoteIssued carries an Issued: a credit note was issued.
	SubjectCreditNoteIssued = "invoice.credit_note_issued.v1"
	// SubjectResendRequested carries an Issued: staff asked to send a
	// document to its buyer again.
	SubjectResendRequested = "invoice.resend_requested.v1"
)

// Source is the envelope source of invoice events.
const Source = "invoice"

// Issued is the payload of the invoice events: the document (without its
// PDF or XML, which the API serves) and the buyer's address it goes to.
type Issued struct {
	Invoice
	// Email is where the document is sent: the order's email.
	Email string `json:"email"`
}
