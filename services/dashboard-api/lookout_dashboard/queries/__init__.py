"""SQL and the typed rows it answers: the rollups over a resolved range (`rollups`,
`ranges`), the overview's metrics (`overview`) and the audit log (`audit`)."""
