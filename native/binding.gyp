{
  "targets": [
    {
      "target_name": "rliv_native",
      "sources": ["src/rliv_native.c"],
      "cflags": ["-O3", "-march=native", "-fno-math-errno"],
      "libraries": ["-lopenblas"]
    }
  ]
}
