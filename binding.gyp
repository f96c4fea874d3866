{
  # The install build. Per-ISA kernels are static libraries compiled with their own flags
  # from native/isa.json (never -march=native); the addon itself is baseline for its arch
  # and picks a kernel set at load time (native/core/dispatch.cc).
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags!": ["-fno-exceptions"],
    "include_dirs": ["native"],
    "defines": ["NDEBUG"],
    "conditions": [
      ["target_arch=='x64'", {"defines": ["MHA_HAVE_AVX2", "MHA_HAVE_AVX512", "MHA_HAVE_AVX512BF16", "MHA_HAVE_AMX"]}],
      ["target_arch=='arm64'", {"defines": ["MHA_HAVE_NEON"]}]
    ],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    }
  },
  "targets": [
    {
      "target_name": "mha_native",
      "sources": [
        "<!@(node tools/native-sources.mjs sources native/binding native/core native/kernels/scalar)"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "MHA_NATIVE_VERSION=<!(node -p \"require('./package.json').version\")"
      ],
      "libraries": ["-lpthread"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["mha_kernels_avx2", "mha_kernels_avx512", "mha_kernels_avx512bf16", "mha_kernels_amx"]
        }],
        ["target_arch=='arm64'", {
          "dependencies": ["mha_kernels_neon"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "mha_kernels_avx2",
          "type": "static_library",
          "sources": ["<!@(node tools/native-sources.mjs sources native/kernels/avx2)"],
          "cflags_cc": ["<!@(node tools/native-sources.mjs flags x64 avx2)"]
        },
        {
          "target_name": "mha_kernels_avx512",
          "type": "static_library",
          "sources": ["<!@(node tools/native-sources.mjs sources native/kernels/avx512)"],
          "cflags_cc": ["<!@(node tools/native-sources.mjs flags x64 avx512)"]
        },
        {
          "target_name": "mha_kernels_avx512bf16",
          "type": "static_library",
          "sources": ["<!@(node tools/native-sources.mjs sources native/kernels/avx512bf16)"],
          "cflags_cc": ["<!@(node tools/native-sources.mjs flags x64 avx512bf16)"]
        },
        {
          "target_name": "mha_kernels_amx",
          "type": "static_library",
          "sources": ["<!@(node tools/native-sources.mjs sources native/kernels/amx)"],
          "cflags_cc": ["<!@(node tools/native-sources.mjs flags x64 amx)"]
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "mha_kernels_neon",
          "type": "static_library",
          "sources": ["<!@(node tools/native-sources.mjs sources native/kernels/neon)"],
          "cflags_cc": ["<!@(node tools/native-sources.mjs flags arm64 neon)"]
        }
      ]
    }]
  ]
}
