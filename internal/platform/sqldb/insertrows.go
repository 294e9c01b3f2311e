package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// maxParams bounds the parameters of one statement InsertRows sends: far
// under both engines' limits (SQLite 32766, PostgreSQL 65535), and where
// the cost per row is still flat (a huge statement is slow to parse and
// bind, and each row count in use is a cached plan).
const maxParams = 1000

// InsertRows inserts rows (each a value per column, in order) into table
// with one multi-row INSERT per maxParams parameters: one statement where a
// loop would send one per row. Its text depends only on the table, the
// columns and the number of rows, so the engine's statement cache (pgx's,
// or the SQLite connection's) keeps a plan per row count in use.
//
// table and columns are SQL identifiers written by the caller, never input.
func InsertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
	if len(columns) == 0 {
		return fmt.Errorf("sqldb: insert into %s: no columns", table)
	}
	per := max(1, maxParams/len(columns))
	for len(rows) > 0 {
		n := min(len(rows), per)
		var q strings.Builder
		q.WriteString("INSERT INTO ")
		q.WriteString(table)
		q.WriteString(" (")
		q.WriteString(strings.Join(columns, ", "))
		q.WriteString(") VALUES ")
		args := make([]any, 0, n*len(columns))
		for i, row := range rows[:n] {
			if len(row) != len(columns) {
				return fmt.Errorf("sqldb: insert into %s: row %d has %d values for %d columns", table, i, len(row), len(columns))
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args) + j + 1))
			}
			q.WriteByte(')')
			args = append(args, row...)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
