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

func (id ProxyHostID) String() string       { return strconv.Itoa(int(id)) }
func (id CertificateID) String() string     { return strconv.Itoa(int(id)) }
func (id AccessListID) String() string      { return strconv.Itoa(int(id)) }
func (id RedirectionHostID) String() string { return strconv.Itoa(int(id)) }
func (id DeadHostID) String() string        { return strconv.Itoa(int(id)) }
func (id StreamID) String() string          { return strconv.Itoa(int(id)) }
func (id UserID) String() string            { return strconv.Itoa(int(id)) }
