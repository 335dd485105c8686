{
  "targets": [
    {
      "target_name": "pmetal_native",
      "sources": ["src/addon.cc", "src/chip.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-frtti"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src/host/host_backend.cc", "src/host/rewrite.cc"],
          "defines": ["PMETAL_NATIVE_DIR=\"<(module_root_dir)\""],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "sources": ["src/metal/metal_backend.mm"],
          "link_settings": {
            "libraries": ["$(SDKROOT)/System/Library/Frameworks/Metal.framework",
                          "$(SDKROOT)/System/Library/Frameworks/Foundation.framework"]
          },
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "13.0",
            "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-fobjc-arc"]
          }
        }]
      ]
    }
  ]
}
