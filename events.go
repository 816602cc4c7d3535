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

// logReused records a request taking a connection that served before.
func (c *core) logReused(t *try) {
	if c.logEnabled() {
		b := t.conn.base()
		c.logConn("httppool: reused", b.id, b.hp.key, slog.Duration("idle", t.idleTime), slog.Int("served", t.served))
	}
}

// logReturned records a request ending on a connection that stays pooled;
// it is called with the host's lock held.
func (c *core) logReturned(b *connBase) {
	if c.logEnabled() {
		c.logConn("httppool: returned to pool", b.id, b.hp.key, slog.Int("served", b.served))
	}
}
