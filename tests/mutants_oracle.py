"""Mutants that the differential ``oracle.*`` checks must report as failed."""

from mutants import mutant

OracleShiftedRows = mutant("OracleShiftedRows", ["oracle.matches_reference"],
                           "rows shifted by one: kept rows differ from the reference", shift=True)
OracleStaleConfig = mutant("OracleStaleConfig", ["oracle.matches_reference"],
                           "config.vocab_size not updated", stale_config=True)
OracleExtraRow = mutant("OracleExtraRow", ["oracle.matches_reference"],
                        "matrices get N+1 rows", size_delta=1)
OracleLosesTie = mutant("OracleLosesTie", ["oracle.tie_matches_reference"],
                        "a tied head becomes an equal-valued copy", lose_tie=True)
OracleBiasNewOnes = mutant("OracleBiasNewOnes", ["oracle.bias_matches_reference"],
                           "new bias entries are 1 instead of 0", bias_new=1.0)
OracleForgetsBias = mutant("OracleForgetsBias", ["oracle.bias_matches_reference"],
                           "the bias dict is not resized", skip_bias=True)

ALL = [OracleShiftedRows, OracleStaleConfig, OracleExtraRow, OracleLosesTie, OracleBiasNewOnes,
       OracleForgetsBias]
