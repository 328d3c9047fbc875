// A cost budget on the resource group that e-mails when spending passes 80 % of the amount, and
// when the month's forecast passes it. An alert only: Azure does not stop resources at a budget.
// The hard ceilings are the model deployment's tokens-per-minute capacity, Flex Consumption's
// maximumInstanceCount and the app's own daily token budget (docs/deploy.md).

@description('Name of the budget.')
param name string

@description('Monthly amount, in the billing currency of the subscription.')
@minValue(1)
param amount int

@description('Addresses that receive the alerts.')
@minLength(1)
param contactEmails array

// Fixed by the caller, not taken from the clock: Azure refuses to change a budget's start date, so a date that
// follows the current month would fail every deployment after the budget's first month.
@description('First day of the budget period (yyyy-MM-01), the same on every deployment.')
@minLength(10)
@maxLength(10)
param startDate string

resource budget 'Microsoft.Consumption/budgets@2023-11-01' = {
  name: name
  properties: {
    category: 'Cost'
    amount: amount
    timeGrain: 'Monthly'
    timePeriod: {
      startDate: startDate
    }
    notifications: {
      actualOver80Percent: {
        enabled: true
        operator: 'GreaterThan'
        threshold: 80
        thresholdType: 'Actual'
        contactEmails: contactEmails
      }
      forecastOverAmount: {
        enabled: true
        operator: 'GreaterThan'
        threshold: 100
        thresholdType: 'Forecasted'
        contactEmails: contactEmails
      }
    }
  }
}

output name string = budget.name
