package text

// CSVCell is cell made safe to open in a spreadsheet, the one rule of
// every CSV Mercato writes (exports, reports, error reports): a cell
// starting with =, +, -, @, a tab or a carriage return would be run as a
// formula, so it gets a leading apostrophe and shows as text (OWASP's CSV
// injection advice). It does not guess at numbers: a writer whose cell is
// a number it formatted itself ("-12.50") writes that one as it is.
func CSVCell(cell string) string {
	if cell == "" || !formulaStart(cell[0]) {
		return cell
	}
	return "'" + cell
}

// CSVValue undoes CSVCell: what a cell said before it was written, so that
// a file Mercato exported reads back as it was.
func CSVValue(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && formulaStart(cell[1]) {
		return cell[1:]
	}
	return cell
}

func formulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}
