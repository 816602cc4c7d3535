package main

import (
	"crypto/x509"
	"encoding/pem"

	"github.com/httppool/httppool/internal/benchserver"
)

// selfSignedPEM makes a certificate for 127.0.0.1, new for each server, and
// returns it and its key in PEM for the server and a pool that trusts only
// it for the clients.
func selfSignedPEM() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	cert, err := benchserver.SelfSignedCert()
	if err != nil {
		return nil, nil, nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, nil, nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(leaf)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, pool, nil
}
