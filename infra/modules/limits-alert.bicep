// An alert when the app has used 80 % of its daily token budget (CHAT_DAILY_TOKEN_BUDGET): the
// app counts it in its metric chat.limits.signals (signal budget_80_percent) and logs a warning;
// this rule looks for the metric in Application Insights every hour and, given addresses, mails.

@description('Name of the alert rule.')
param name string

@description('Region of the rule.')
param location string

@description('Tags for the rule.')
param tags object = {}

@description('Application Insights resource the app sends its metrics to.')
param applicationInsightsId string

@description('E-mail addresses to tell; empty: the alert shows in the portal only.')
param contactEmails array = []

var signalQuery = '''
customMetrics
| where name == "chat.limits.signals"
| where tostring(customDimensions["chat.limits.signal"]) == "budget_80_percent"
| summarize signals = sum(valueSum)
'''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(contactEmails)) {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'tokenbudget'
    enabled: true
    emailReceivers: [for (email, index) in contactEmails: {
      name: 'email-${index}'
      emailAddress: email
      useCommonAlertSchema: true
    }]
  }
}

resource budgetUse 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: name
  location: location
  tags: tags
  properties: {
    displayName: 'The chat app has used 80 % of its daily token budget'
    description: 'At 100 % every visitor is refused (budget_exhausted) until midnight UTC: raise CHAT_DAILY_TOKEN_BUDGET or look for abuse (docs/deploy.md).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: signalQuery
          metricMeasureColumn: 'signals'
          timeAggregation: 'Total'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: empty(contactEmails) ? [] : [
        actionGroup.id
      ]
    }
  }
}

output name string = budgetUse.name
