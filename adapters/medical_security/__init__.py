"""Medical security (医保): settlements pulled from the bureau's paged feed."""
