raise RuntimeError("files without the step suffix are never imported")
