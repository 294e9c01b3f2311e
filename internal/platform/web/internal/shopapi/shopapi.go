// Package shopapi is a stand-in service contract package for the web
// platform's tests of OpenAPI schema names.
package shopapi

// Product is a contract type named like another service's.
type Product struct{}

// ShopList already starts with its service's name.
type ShopList struct{}
