package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/httppool/httppool"
)

// Kinds of request errors, in the order reports list them.
const (
	errTimeout = "timeout"
	errRefused = "connection_refused"
	errReset   = "reset"
	errClosed  = "eof_or_closed"
	errTLS     = "tls"
	errOther   = "other"
)

// errorKinds lists every kind, in report order.
var errorKinds = []string{errTimeout, errRefused, errReset, errClosed, errTLS, errOther}

// errorKindLabels are the kinds as reports print them.
var errorKindLabels = map[string]string{
	errTimeout: "timeout",
	errRefused: "connection refused",
	errReset:   "reset",
	errClosed:  "EOF/closed",
	errTLS:     "TLS",
	errOther:   "other",
}

// errorKind sorts a request's error into one of errorKinds.
func errorKind(err error) string {
	var netErr net.Error
	var recordErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var verifyErr *tls.CertificateVerificationError
	var authorityErr x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(msg, "connection refused"):
		return errRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		strings.Contains(msg, "connection reset"):
		return errReset
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &verifyErr),
		errors.As(err, &authorityErr), errors.As(err, &hostnameErr), errors.As(err, &invalidErr),
		strings.Contains(msg, "tls: "):
		return errTLS
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.EPIPE), errors.Is(err, httppool.ErrServerClosedIdle),
		errors.Is(err, httppool.ErrClosed):
		return errClosed
	}
	return errOther
}
