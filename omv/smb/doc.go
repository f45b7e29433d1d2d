// Package smb audits an SMB share the way a client sees it, using
// github.com/hirochachacha/go-smb2: the owner can log in, list the share
// and write then delete a probe file; another user is denied; and the free
// and total space the share reports (which shows an OMV quota or a Samba
// "dfree command" as the client sees it).
//
// It complements package omv, which configures shares through OMV's RPC
// API: omv says what should be, smb checks what a client gets.
package smb
