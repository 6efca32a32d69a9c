/* A shared library found only through its user's DT_RUNPATH ($ORIGIN/lib),
   for the --fs-exec-deps test. */
int rpath_answer(void) { return 42; }
