package postgresql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseNamed(t *testing.T) {
	for _, tc := range []struct {
		query, sql string
		names      []string
	}{
		{"INSERT INTO accounts (username,city) VALUES (:#username,:#city)", "INSERT INTO accounts (username,city) VALUES ($1,$2)", []string{"username", "city"}},
		{"DELETE FROM accounts where user_id = :#user_id", "DELETE FROM accounts where user_id = $1", []string{"user_id"}},
		{"UPDATE t SET a = :#a, b = :#a || ':#b' WHERE c = :#c::int", "UPDATE t SET a = $1, b = $1 || ':#b' WHERE c = $2::int", []string{"a", "c"}},
		{`SELECT "odd"":#col" FROM t -- :#no` + "\nWHERE x = :#x /* :#y */", `SELECT "odd"":#col" FROM t -- :#no` + "\nWHERE x = $1 /* :#y */", []string{"x"}},
		{"SELECT 'it''s :#x' , :#y", "SELECT 'it''s :#x' , $1", []string{"y"}},
		{"SELECT * FROM t", "SELECT * FROM t", nil},
	} {
		q, err := parseNamed(tc.query)
		require.NoError(t, err, tc.query)
		require.Equal(t, tc.sql, q.sql, tc.query)
		require.Equal(t, tc.names, q.names, tc.query)
	}
	_, err := parseNamed("SELECT :# FROM t")
	require.EqualError(t, err, `":#" at byte 7 is not followed by a parameter name (letters, digits, _)`)
}
