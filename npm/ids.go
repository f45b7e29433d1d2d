package npm

import "strconv"

// ProxyHostID identifies a proxy host. Ids are never reused, even after a
// delete.
type ProxyHostID int

// CertificateID identifies a certificate; 0 on a host means "none".
type CertificateID int

// AccessListID identifies an access list; 0 on a host means "public".
type AccessListID int

// RedirectionHostID identifies a redirection host.
type RedirectionHostID int

// DeadHostID identifies a 404 host.
type DeadHostID int

// StreamID identifies a stream.
type StreamID int

// UserID identifies an NPM user (the owner of an object).
type UserID int

// String formats the id in decimal, as it appears in API paths.
func (id ProxyHostID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id CertificateID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id AccessListID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id RedirectionHostID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id DeadHostID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id StreamID) String() string { return strconv.Itoa(int(id)) }

// String formats the id in decimal.
func (id UserID) String() string { return strconv.Itoa(int(id)) }
