package tenant

// Access is the authorization table, for the HTTP tests' matrix.
var Access = access
