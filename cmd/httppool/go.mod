module github.com/httppool/httppool/cmd/httppool

go 1.26.0

require (
	github.com/httppool/httppool v0.0.0
	github.com/httppool/httppool/http3 v0.0.0
	github.com/quic-go/quic-go v0.65.0
)

require (
	github.com/quic-go/qpack v0.6.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/httppool/httppool => ../..

replace github.com/httppool/httppool/http3 => ../../http3
