terraform {
  # A validation that names another variable (max_instances >= min_instances): 1.9+.
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
