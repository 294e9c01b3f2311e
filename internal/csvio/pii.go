package csvio

import (
	"math/big"
	"regexp"
	"strings"
	"unicode"
)

// PII is a kind of personal data found in a cell.
type PII string

// The kinds of personal data a cell is checked for, in the order checked.
const (
	PIIPassword   PII = "password"
	PIICard       PII = "card_number"
	PIIIBAN       PII = "iban"
	PIINationalID PII = "national_id"
	PIIEmail      PII = "email"
	PIIPhone      PII = "phone"
)

// Finding is personal data found in a cell: its kind, what it is in words,
// and a masked form that is safe to write and log (never the value).
type Finding struct {
	Kind   PII
	Reason string
	Masked string
}

// passwordColumn matches column names meant to carry a secret.
var passwordColumn = regexp.MustCompile(`(?i)pass(word)?|passwd|pwd|secret|passphrase`)

// IsPasswordColumn reports whether a column named name is meant to carry a
// password or another secret: such a column is never imported.
func IsPasswordColumn(name string) bool { return passwordColumn.MatchString(name) }

// passwordHash matches the common password hash formats: bcrypt, argon2,
// scrypt, PBKDF2 (Django's and the PHC form), and crypt's SHA-256/512.
var passwordHash = regexp.MustCompile(`\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|\$argon2(id|i|d)\$[^\s,;]+|\$scrypt\$[^\s,;]+|\$7\$[./A-Za-z0-9]{20,}|pbkdf2_sha(1|256|512)\$\d+\$[^\s,;]+|\$pbkdf2(-sha(1|256|512))?\$[^\s,;]+|\$[56]\$[^\s$]{1,96}\$[./A-Za-z0-9]{43,86}`)

// Allowed says which kinds of data a column may carry: an email column
// emails, a phone column phone numbers. Everything else is refused
// everywhere.
type Allowed struct {
	Email bool
	Phone bool
}

// Scan checks one cell of column for personal data and returns the first
// finding, if any. The order is fixed: password column, password hash,
// card number, IBAN, national ID, then an email or phone number outside
// the columns meant for them.
func Scan(column, value string, allow Allowed) (Finding, bool) {
	if value == "" {
		return Finding{}, false
	}
	if IsPasswordColumn(column) {
		return Finding{PIIPassword, "a password or secret column is never imported", "****"}, true
	}
	return scanValue(value, allow)
}

// scanValue is Scan for a column not named for a secret. Cheap counts
// first: every pattern below needs a $, an @ or at least six digits, and
// most cells have none, so most cells cost no regular expression.
func scanValue(value string, allow Allowed) (Finding, bool) {
	if value == "" {
		return Finding{}, false
	}
	digits, dollar, at := 0, false, false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '$':
			dollar = true
		case c == '@':
			at = true
		}
	}
	if dollar && passwordHash.MatchString(value) {
		return Finding{PIIPassword, "looks like a password hash", "****"}, true
	}
	if digits >= 6 {
		if n, ok := findCard(value); ok {
			return Finding{PIICard, "looks like a payment card number (Luhn)", maskTail(n)}, true
		}
		if n, ok := findIBAN(value); ok {
			return Finding{PIIIBAN, "looks like a bank account number (IBAN)", maskTail(n)}, true
		}
		if what, n, ok := findNationalID(value); ok {
			return Finding{PIINationalID, "looks like a national identity number (" + what + ")", maskTail(n)}, true
		}
	}
	if !allow.Email && at {
		if m := emailPattern.FindString(value); m != "" {
			return Finding{PIIEmail, "an email address outside the email column", MaskEmail(m)}, true
		}
	}
	if !allow.Phone && digits >= 9 {
		if n, ok := findPhone(value); ok {
			return Finding{PIIPhone, "a phone number outside the phone column", maskTail(n)}, true
		}
	}
	return Finding{}, false
}

// maskTail shows the last 4 characters of s (fewer for a short s) after
// four stars: ****1111.
func maskTail(s string) string {
	keep := 4
	if len(s) <= 8 {
		keep = 2
	}
	if len(s) <= 4 {
		keep = 0
	}
	return "****" + s[len(s)-keep:]
}

// MaskEmail keeps the first character of the local part and the domain:
// a***@example.com.
func MaskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}

// digitRuns returns the digit sequences of s in which single spaces or
// dashes may separate digits ("4111 1111-1111 1111" is one run), with the
// separators removed.
func digitRuns(s string) []string {
	var runs []string
	var cur strings.Builder
	sep := false
	flush := func() {
		if cur.Len() > 0 {
			runs = append(runs, cur.String())
		}
		cur.Reset()
		sep = false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			cur.WriteRune(r)
			sep = false
		case (r == ' ' || r == '-') && cur.Len() > 0 && !sep:
			sep = true
		default:
			flush()
		}
	}
	flush()
	return runs
}

// findCard finds a payment card number: 13 to 19 digits, a known issuer
// prefix, and a valid Luhn check digit. A 13-digit run that is a valid
// EAN-13 barcode is taken for a barcode (13-digit cards are long gone).
func findCard(s string) (string, bool) {
	for _, n := range digitRuns(s) {
		if len(n) < 13 || len(n) > 19 || !luhn(n) || !cardPrefix(n) {
			continue
		}
		if len(n) == 13 && ean13(n) {
			continue
		}
		return n, true
	}
	return "", false
}

// luhn reports whether the digits of n pass the Luhn check.
func luhn(n string) bool {
	sum, double := 0, false
	for i := len(n) - 1; i >= 0; i-- {
		d := int(n[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ean13 reports whether the 13 digits of n carry a valid EAN-13 check digit.
func ean13(n string) bool {
	sum := 0
	for i := 0; i < 12; i++ {
		d := int(n[i] - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(n[12]-'0')
}

// cardPrefix reports whether n starts like a card of a major scheme: Visa
// (4), Mastercard (51–55, 2221–2720), American Express (34, 37), Discover
// and UnionPay (6), Diners (30, 36, 38, 39), JCB (35), Maestro (50, 56–58).
func cardPrefix(n string) bool {
	switch n[0] {
	case '4', '6':
		return true
	case '3':
		return strings.ContainsRune("045789", rune(n[1]))
	case '5':
		return true
	case '2':
		p := atoi(n[:4])
		return p >= 2221 && p <= 2720
	}
	return false
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ibanLengths is the length of the IBAN of each country that has one
// (the SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// ibanStart finds where an IBAN may begin: a country code and two check
// digits, not inside a word.
var ibanStart = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])([A-Z]{2}[0-9]{2})`)

// findIBAN finds an IBAN, printed as one word or in groups of four: the
// country's length and the ISO 13616 mod-97 check.
func findIBAN(s string) (string, bool) {
	for _, m := range ibanStart.FindAllStringSubmatchIndex(s, -1) {
		start := m[4]
		cc := strings.ToUpper(s[start : start+2])
		want, ok := ibanLengths[cc]
		if !ok {
			continue
		}
		var b strings.Builder
		for i := start; i < len(s) && b.Len() < want; i++ {
			c := s[i]
			switch {
			case c == ' ' && i+1 < len(s) && s[i+1] != ' ':
				continue
			case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
				b.WriteByte(byte(unicode.ToUpper(rune(c))))
			default:
				i = len(s)
			}
		}
		if b.Len() == want && ibanValid(b.String()) {
			return b.String(), true
		}
	}
	return "", false
}

// ibanValid is the mod-97 check of ISO 13616 on an upper-case IBAN.
func ibanValid(iban string) bool {
	r := iban[4:] + iban[:4]
	var digits strings.Builder
	for _, c := range r {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			digits.WriteString(itoa(int(c-'A') + 10))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

var (
	// ssn is a US Social Security number in its dashed form (the undashed
	// nine digits are too common in other data to refuse).
	ssn = regexp.MustCompile(`(^|[^0-9-])([0-9]{3})-([0-9]{2})-([0-9]{4})($|[^0-9-])`)
	// nino is a UK National Insurance number: two letters (not D, F, I, Q,
	// U, V; not O second), six digits, A–D.
	nino = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?([0-9]{2}) ?([0-9]{2}) ?([0-9]{2}) ?([A-D])($|[^A-Za-z0-9])`)
	// dni is a Spanish DNI (8 digits and a check letter) or NIE (X, Y or Z,
	// 7 digits and a check letter).
	dni = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])([XYZ]?)([0-9]{7,8})-?([A-Z])($|[^A-Za-z0-9])`)
	// nir is a French social security number (NIR): sex, year, month,
	// department, commune, order and a two-digit key, spaced or not.
	nir = regexp.MustCompile(`(^|[^0-9])([12]) ?([0-9]{2}) ?(0[1-9]|1[0-2]|[2-9][0-9]) ?([0-9]{2}|2[AB]) ?([0-9]{3}) ?([0-9]{3}) ?([0-9]{2})($|[^0-9])`)
)

// findNationalID finds a national identity number: a US SSN, a UK NINO,
// a Spanish DNI/NIE or a French NIR, each with its own validity rules.
func findNationalID(s string) (what, n string, ok bool) {
	for _, m := range ssn.FindAllStringSubmatch(s, -1) {
		area, group, serial := m[2], m[3], m[4]
		if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
			continue
		}
		return "US SSN", area + group + serial, true
	}
	for _, m := range nino.FindAllStringSubmatch(s, -1) {
		prefix := strings.ToUpper(m[2])
		switch prefix {
		case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
			continue
		}
		return "UK NINO", prefix + m[3] + m[4] + m[5] + strings.ToUpper(m[6]), true
	}
	for _, m := range dni.FindAllStringSubmatch(s, -1) {
		prefix, num, letter := strings.ToUpper(m[2]), m[3], strings.ToUpper(m[4])
		if (prefix == "" && len(num) != 8) || (prefix != "" && len(num) != 7) {
			continue
		}
		v := atoi(strings.NewReplacer("X", "0", "Y", "1", "Z", "2").Replace(prefix) + num)
		if string("TRWAGMYFPDXBNJZSQVHLCKE"[v%23]) == letter {
			return "Spanish DNI/NIE", prefix + num + letter, true
		}
	}
	for _, m := range nir.FindAllStringSubmatch(s, -1) {
		body := m[2] + m[3] + m[4] + m[5] + m[6] + m[7]
		// Corsica's 2A and 2B count as 19 and 18 in the key.
		numeric := strings.NewReplacer("2A", "19", "2B", "18").Replace(body)
		v, ok := new(big.Int).SetString(numeric, 10)
		if !ok {
			continue
		}
		key := 97 - new(big.Int).Mod(v, big.NewInt(97)).Int64()
		if int64(atoi(m[8])) == key {
			return "French NIR", body + m[8], true
		}
	}
	return "", "", false
}

// emailPattern finds an email address anywhere in a cell.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// phoneCandidate finds what may be a phone number: an optional +, then
// digits in groups separated by single spaces, dots, dashes or
// parentheses, standing as its own word.
var phoneCandidate = regexp.MustCompile(`(^|[\s(:,;])(\+?\(?[0-9]{1,4}\)?(?:[ .\-]?\(?[0-9]{1,5}\)?){2,7})($|[\s).,;])`)

// findPhone finds a phone number: 9 to 15 digits (E.164) in one of two
// shapes. One starting with + is a phone number. One without must come in
// 2 to 5 groups, with a group of 3 or more digits or a leading 0 (the trunk
// prefix of national numbers such as 01 23 45 67 89), so that plain numbers
// (prices, quantities, barcodes), dates and lists of sizes are not taken for
// one.
func findPhone(s string) (string, bool) {
	for _, m := range phoneCandidate.FindAllStringSubmatch(s, -1) {
		c := m[2]
		groups := strings.FieldsFunc(c, func(r rune) bool { return r < '0' || r > '9' })
		d := strings.Join(groups, "")
		if len(d) < 9 || len(d) > 15 {
			continue
		}
		if strings.HasPrefix(c, "+") {
			return d, true
		}
		if len(groups) < 2 || len(groups) > 5 {
			continue
		}
		long := false
		for _, g := range groups {
			long = long || len(g) >= 3
		}
		if long || d[0] == '0' {
			return d, true
		}
	}
	return "", false
}
