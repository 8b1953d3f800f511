output "queue_name" {
  description = "Name of the queue."
  value       = terraform_data.queue.output.name
}

output "queue_arn" {
  description = "ARN of the queue."
  value       = "arn:aws:sqs:::${terraform_data.queue.output.name}"
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  value       = terraform_data.dead_letter_queue.output.name
}
