terraform {
  required_version = ">= 1.5.0"

  # No backend here: the root infra-manager renders declares the S3 backend, whatever
  # cloud the module targets (see README.md).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
  }
}
