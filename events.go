package httppool

import (
	"context"
	"log/slog"
	"time"
)

// Connection lifecycle events go to Config.Logger at debug level. Each call
// site checks logEnabled first, so that a Transport without a logger, or
// whose logger drops debug records, pays one comparison.

func (c *core) logEnabled() bool {
	return c.cfg.Logger != nil && c.cfg.Logger.Enabled(context.Background(), slog.LevelDebug)
}

func (c *core) logConn(msg string, id uint64, key connectKey, attrs ...slog.Attr) {
	base := []slog.Attr{slog.Uint64("conn", id), slog.String("host", key.String())}
	c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, msg, append(base, attrs...)...)
}

func (c *core) logDialed(id uint64, key connectKey, proto string, took time.Duration) {
	if c.logEnabled() {
		c.logConn("httppool: dialed", id, key, slog.String("proto", proto), slog.Duration("took", took))
	}
}

func (c *core) logClosed(id uint64, key connectKey, reason closeReason, served int, created time.Time) {
	if c.logEnabled() {
		c.logConn("httppool: closed", id, key,
			slog.String("reason", reason.String()),
			slog.Int("served", served),
			slog.Duration("age", time.Since(created)))
	}
}

func (pc *h1Conn) logReused(idle time.Duration) {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: reused", pc.id, pc.hp.key, slog.Duration("idle", idle), slog.Int("served", pc.served))
	}
}

func (pc *h1Conn) logReturned() {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: returned to pool", pc.id, pc.hp.key, slog.Int("served", pc.served))
	}
}
